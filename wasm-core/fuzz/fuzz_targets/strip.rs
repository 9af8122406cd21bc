//! Metadata removal on arbitrary bytes (seeded with the corpus): must never
//! panic, and whatever it accepts must be accepted again after cleaning.
#![no_main]
use libfuzzer_sys::fuzz_target;
use veil_core::strip::strip;

fuzz_target!(|data: &[u8]| {
    if let Ok(once) = strip(data, None) {
        assert!(strip(&once.data, None).is_ok(), "cleaned output no longer parses");
    }
});
