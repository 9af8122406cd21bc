//! How long `work::solve` takes natively at each difficulty the server may
//! ask for (the CLI's cost after wrong guesses on a link); `make bench`.
#![allow(clippy::unwrap_used, missing_docs)]

use std::time::Instant;

use veil_core::work::{solve, MAX_BITS};

fn main() {
    let samples = 16u32;
    for bits in [12u8, 16, MAX_BITS] {
        let start = Instant::now();
        for i in 0..samples {
            let proof = format!("{i:043}");
            std::hint::black_box(solve("AAAAAAAAAAAAAAAAAAAAAA", &proof, bits));
        }
        let ms = start.elapsed().as_secs_f64() * 1000.0 / f64::from(samples);
        println!("native work: {bits} bits, mean of {samples} solves: {ms:.1} ms");
    }
}
