//! blob-server's integration tests, one binary (one link step, shared
//! helpers): each module drives a real server on 127.0.0.1:0. The log
//! privacy test is its own binary (`tests/logs.rs`) because it installs the
//! process-wide TRACE subscriber.
#![allow(
    clippy::cast_possible_truncation,
    clippy::panic,
    clippy::type_complexity,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

mod helpers;

/// One-request uploads, downloads, limits, proofs, deletion, headers, hostile input.
mod blobs;
/// SIGKILL during uploads: nothing partial visible, nothing finished lost.
mod crash;
/// Erasure waits for downloads in progress.
mod erasure;
/// The defects of issue #10, each reproduced: concurrency on one upload,
/// timeouts, connection cap, JSON errors, tokens, seized-disk contents.
mod hardening;
/// Reports, operator tools, removals, counters, upload limits.
mod moderation;
/// Shares: the look that consumes nothing, one range per download.
mod shares;
/// HTTPS with HSTS; TLS 1.3 only.
mod tls;
/// tus 1.0 resumable uploads.
mod tus;
