//! The PDF cleaner alone, on arbitrary bytes (seeded with the corpus): must
//! never panic, and what it accepts must be accepted again after cleaning.
#![no_main]
use libfuzzer_sys::fuzz_target;
use veil_core::strip::pdf::strip;

fuzz_target!(|data: &[u8]| {
    if let Ok((once, _)) = strip(data) {
        assert!(strip(&once).is_ok(), "cleaned output no longer parses");
    }
});
