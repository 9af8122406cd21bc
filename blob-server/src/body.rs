//! Request bodies to files and objects: streamed in bounded buffers, never held whole,
//! capped at a limit, stoppable by a cancellation (a deletion of the upload
//! they feed), and a guard that removes a partial file if the request ends
//! early.

use std::future::Future;
use std::path::PathBuf;

use axum::body::Body;
use bytes::Bytes;
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio_util::sync::CancellationToken;

use crate::error::ApiError;

/// Deletes a partly written file if the request ends early (error, client
/// gone, server shutting down) before it is committed.
pub struct TempGuard(Option<PathBuf>);

impl TempGuard {
    /// Guards `path`.
    #[must_use]
    pub fn new(path: PathBuf) -> Self {
        Self(Some(path))
    }
    /// The file is now someone else's.
    pub fn disarm(&mut self) {
        self.0 = None;
    }
}

impl Drop for TempGuard {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            // Partial ciphertext; plain removal suffices (it was never
            // served). Off the async workers: the drop runs on one.
            let remove = move || drop(std::fs::remove_file(p));
            match tokio::runtime::Handle::try_current() {
                Ok(rt) => drop(rt.spawn_blocking(remove)),
                Err(_) => remove(),
            }
        }
    }
}

/// How a body stopped short.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// The client's stream broke (or timed out).
    Interrupted,
    /// It went past the limit.
    TooLarge,
    /// The upload was deleted while its body was arriving.
    Cancelled,
}

impl From<Cut> for ApiError {
    fn from(c: Cut) -> Self {
        match c {
            Cut::Interrupted => ApiError::BadRequest("the request body was interrupted"),
            Cut::TooLarge => ApiError::TooLarge,
            Cut::Cancelled => ApiError::NotFound,
        }
    }
}

/// What arrived of a body: the bytes written, and whether it ended or was cut.
pub struct Received {
    /// Bytes written to the file (all flushed).
    pub written: u64,
    /// `Ok`: the body ended; `Err`: it stopped short.
    pub outcome: Result<(), Cut>,
}

/// Where a body's bytes go: a file, or an object being written.
pub trait Sink {
    /// Takes the next chunk (it may be buffered).
    fn put(&mut self, chunk: Bytes) -> impl Future<Output = Result<(), ApiError>> + Send;
    /// Makes everything put so far written (not yet durable: the caller syncs).
    fn flush(&mut self) -> impl Future<Output = Result<(), ApiError>> + Send;
}

/// A file at its current position, through a 256 KiB buffer: large enough
/// for throughput, small enough that 64 concurrent uploads stay within a
/// few tens of MiB.
pub struct FileSink<'a>(tokio::io::BufWriter<&'a mut tokio::fs::File>);

impl<'a> FileSink<'a> {
    /// Writes into `file`.
    pub fn new(file: &'a mut tokio::fs::File) -> Self {
        file.set_max_buf_size(256 * 1024);
        Self(tokio::io::BufWriter::with_capacity(256 * 1024, file))
    }
}

impl Sink for FileSink<'_> {
    async fn put(&mut self, chunk: Bytes) -> Result<(), ApiError> {
        Ok(self.0.write_all(&chunk).await?)
    }
    async fn flush(&mut self) -> Result<(), ApiError> {
        Ok(self.0.flush().await?)
    }
}

/// Streams `body` into `sink`, refusing to go past `limit` total bytes
/// (`already` are there); flushes what arrived in every case. `Err` only
/// if the sink failed.
pub async fn stream_into(
    body: Body,
    sink: &mut impl Sink,
    already: u64,
    limit: u64,
    cancel: Option<&CancellationToken>,
) -> Result<Received, ApiError> {
    let mut stream = body.into_data_stream();
    let mut written = 0u64;
    let never = CancellationToken::new();
    let cancel = cancel.unwrap_or(&never);
    let outcome = loop {
        let chunk = tokio::select! {
            biased;
            () = cancel.cancelled() => break Err(Cut::Cancelled),
            c = stream.next() => c,
        };
        let Some(chunk) = chunk else {
            break Ok(());
        };
        let Ok(chunk) = chunk else {
            // Keep what arrived (tus resumes from it); the caller decides.
            break Err(Cut::Interrupted);
        };
        let len = chunk.len() as u64;
        if already + written + len > limit {
            break Err(Cut::TooLarge);
        }
        sink.put(chunk).await?;
        written += len;
    };
    sink.flush().await?;
    Ok(Received { written, outcome })
}

/// [`stream_into`] a file.
pub async fn stream_to_file(
    body: Body,
    file: &mut tokio::fs::File,
    already: u64,
    limit: u64,
    cancel: Option<&CancellationToken>,
) -> Result<Received, ApiError> {
    stream_into(body, &mut FileSink::new(file), already, limit, cancel).await
}
