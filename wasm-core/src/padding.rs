//! PADMÉ length padding: the stored size reveals only a bucket of the real
//! size, never the exact number of bytes.
//!
//! PADMÉ (Nikitin et al., "Reducing Metadata Leakage from Encrypted Files and
//! Communication with PURBs", PETS 2019) rounds a length `L` so that only the
//! top `floor(log2(floor(log2 L))) + 1` bits of it remain; the overhead is at
//! most 12 % and shrinks for large files.

/// The padded length of a `len`-byte plaintext.
#[must_use]
pub fn padme(len: u64) -> u64 {
    if len < 2 {
        return len;
    }
    let e = 63 - u64::from(len.leading_zeros()); // floor(log2 len) >= 1
    let s = 64 - u64::from(e.leading_zeros()); // floor(log2 e) + 1
    let last_bits = e - s;
    let mask = (1u64 << last_bits) - 1;
    // Cannot overflow for the lengths the format accepts (< 2^56).
    len.saturating_add(mask) & !mask
}

#[cfg(test)]
mod tests {
    use super::padme;

    #[test]
    fn known_values() {
        // Values worked by hand from the definition.
        assert_eq!(padme(0), 0);
        assert_eq!(padme(1), 1);
        assert_eq!(padme(2), 2);
        assert_eq!(padme(7), 7);
        assert_eq!(padme(9), 10);
        assert_eq!(padme(100), 104);
        assert_eq!(padme(1000), 1024);
        assert_eq!(padme(1_000_000), 1_015_808);
        assert_eq!(padme(65_536), 65_536);
        assert_eq!(padme(65_537), 67_584);
    }

    #[test]
    fn never_shrinks_and_overhead_is_bounded() {
        for len in (0..200_000u64).chain([u64::from(u32::MAX), 1 << 40, (1 << 50) + 12345]) {
            let p = padme(len);
            assert!(p >= len, "{len}");
            if len >= 2 {
                // At most 12 % more (the paper's bound), and a fixed point.
                assert!((p - len) * 100 <= len * 12 + 100, "{len} -> {p}");
                assert_eq!(padme(p), p, "{len}");
            }
        }
    }
}
