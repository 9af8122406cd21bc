//! Native throughput of the container: encryption and decryption of 64 MiB
//! in 64 KiB records, and Argon2id with the default parameters.
#![allow(clippy::cast_possible_truncation, missing_docs, clippy::unwrap_used)]

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use veil_core::{Argon2Params, Decryptor, Encryptor, Link, Metadata, DEFAULT_RECORD_SIZE};

const SIZE: usize = 64 << 20;

fn meta(size: usize) -> Metadata {
    Metadata {
        name: "bench.bin".into(),
        mime: "application/octet-stream".into(),
        size: size as u64,
        report: vec![],
    }
}

fn encrypt(c: &mut Criterion) {
    let link = Link::generate(None).unwrap();
    let key = link.unlock(None).unwrap();
    let data = vec![0x5au8; SIZE];
    let mut g = c.benchmark_group("container");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(SIZE as u64));
    g.bench_function(BenchmarkId::new("encrypt", "64MiB"), |b| {
        b.iter(|| {
            let mut enc = Encryptor::new(&key, &meta(SIZE), DEFAULT_RECORD_SIZE).unwrap();
            let mut n = enc.header().len();
            for chunk in data.chunks(1 << 20) {
                n += enc.push(chunk).unwrap().len();
            }
            n += enc.finish().unwrap().len();
            n
        });
    });
    let mut enc = Encryptor::new(&key, &meta(SIZE), DEFAULT_RECORD_SIZE).unwrap();
    let mut sealed = enc.header().to_vec();
    sealed.extend(enc.push(&data).unwrap());
    sealed.extend(enc.finish().unwrap());
    g.bench_function(BenchmarkId::new("decrypt", "64MiB"), |b| {
        b.iter(|| {
            let mut dec = Decryptor::new(link.unlock(None).unwrap());
            let mut n = 0;
            for chunk in sealed.chunks(1 << 20) {
                n += dec.push(chunk).unwrap().len();
            }
            dec.finish().unwrap();
            n
        });
    });
    g.finish();
}

fn argon(c: &mut Criterion) {
    let link = Link::generate(Some(Argon2Params::DEFAULT)).unwrap();
    let mut g = c.benchmark_group("argon2id");
    g.sample_size(10);
    g.bench_function("default-params", |b| {
        b.iter(|| link.unlock(Some("correct horse")).unwrap());
    });
    g.finish();
}

criterion_group!(benches, encrypt, argon);
criterion_main!(benches);
