//! Each accepted connection, before HTTP sees it: `TCP_NODELAY` (a response
//! written as headers then body must not wait for a delayed ACK: without
//! it every small GET took a flat ~44 ms), a cap on concurrent connections
//! (past it, a canned `503` with `Retry-After`), and [`Paced`], which
//! closes connections that stall or crawl.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum_server::accept::Accept;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

use crate::config::ConnLimits;
use crate::error::{BUSY_MESSAGE, BUSY_RETRY_AFTER};

/// The acceptor: applies [`ConnLimits`] to every connection.
#[derive(Clone)]
pub struct Guard {
    permits: Arc<Semaphore>,
    limits: ConnLimits,
}

impl Guard {
    /// A guard admitting at most `limits.max_connections` at once.
    #[must_use]
    pub fn new(limits: ConnLimits) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(limits.max_connections)),
            limits,
        }
    }
}

fn busy_response() -> String {
    let body = format!("{{\"error\":\"{BUSY_MESSAGE}\"}}");
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
retry-after: {BUSY_RETRY_AFTER}\r\ncache-control: no-store\r\nconnection: close\r\n\
content-length: {}\r\n\r\n{body}",
        body.len()
    )
}

impl<S: Send + 'static> Accept<TcpStream, S> for Guard {
    type Stream = Paced<TcpStream>;
    type Service = S;
    type Future = Pin<Box<dyn Future<Output = io::Result<(Self::Stream, S)>> + Send>>;

    fn accept(&self, stream: TcpStream, service: S) -> Self::Future {
        let (permits, limits) = (self.permits.clone(), self.limits);
        Box::pin(async move {
            stream.set_nodelay(true)?;
            match permits.try_acquire_owned() {
                Ok(permit) => Ok((Paced::new(stream, permit, limits), service)),
                Err(_) => {
                    let mut stream = stream;
                    let answer = busy_response();
                    let _ = tokio::time::timeout(Duration::from_secs(1), async {
                        stream.write_all(answer.as_bytes()).await?;
                        stream.shutdown().await
                    })
                    .await;
                    Err(io::Error::other("connection limit reached"))
                }
            }
        })
    }
}

/// A connection that must keep moving: over every `idle_timeout` of time
/// spent waiting on the peer (a read or write that could not proceed), at
/// least `min_rate` bytes per second must have moved, and at least one
/// byte, or the connection fails with `TimedOut` and hyper drops it. Time
/// the server itself is busy (disk, handlers) does not count.
pub struct Paced<S> {
    inner: S,
    _permit: OwnedSemaphorePermit,
    window: Duration,
    min_bytes: u64,
    /// Time spent waiting on the peer in the current window.
    waited: Duration,
    /// Bytes moved in the current window.
    moved: u64,
    /// Since when the last poll has been waiting.
    pending_since: Option<Instant>,
    timer: Pin<Box<Sleep>>,
}

impl<S> Paced<S> {
    fn new(inner: S, permit: OwnedSemaphorePermit, limits: ConnLimits) -> Self {
        let window = limits.idle_timeout;
        Self {
            inner,
            _permit: permit,
            window,
            min_bytes: limits.min_rate.saturating_mul(window.as_secs()).max(1),
            waited: Duration::ZERO,
            moved: 0,
            pending_since: None,
            timer: Box::pin(tokio::time::sleep(window)),
        }
    }

    fn before(&mut self) {
        if let Some(t) = self.pending_since.take() {
            self.waited += t.elapsed();
        }
    }

    /// Ends a window that is over: `Err` if too little moved in it.
    fn close_window(&mut self) -> io::Result<()> {
        if self.waited >= self.window {
            if self.moved < self.min_bytes {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the connection stalled",
                ));
            }
            self.waited = Duration::ZERO;
            self.moved = 0;
        }
        Ok(())
    }

    fn after<T>(
        &mut self,
        cx: &mut Context<'_>,
        poll: Poll<io::Result<T>>,
        n: impl Fn(&T) -> usize,
    ) -> Poll<io::Result<T>> {
        match poll {
            Poll::Ready(Ok(v)) => {
                self.moved = self.moved.saturating_add(n(&v) as u64);
                if let Err(e) = self.close_window() {
                    return Poll::Ready(Err(e));
                }
                Poll::Ready(Ok(v))
            }
            Poll::Pending => {
                if let Err(e) = self.close_window() {
                    return Poll::Ready(Err(e));
                }
                let now = Instant::now();
                self.pending_since = Some(now);
                let left = self.window.saturating_sub(self.waited);
                self.timer.as_mut().reset(now + left);
                // Registers the wake-up; it fires at the end of the window.
                let _ = self.timer.as_mut().poll(cx);
                Poll::Pending
            }
            other => other,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Paced<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.before();
        let start = buf.filled().len();
        let poll = Pin::new(&mut this.inner).poll_read(cx, buf);
        let read = buf.filled().len().saturating_sub(start);
        this.after(cx, poll, |()| read)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Paced<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.before();
        let poll = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.after(cx, poll, |n| *n)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.before();
        let poll = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.after(cx, poll, |n| *n)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn accepted_connections_have_no_delay() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let _client = TcpStream::connect(addr).await.unwrap();
        let (accepted, _) = listener.accept().await.unwrap();
        assert!(!accepted.nodelay().unwrap(), "the test would prove nothing");
        let limits = crate::config::Settings::for_tests(std::path::PathBuf::new()).conn;
        let (paced, ()) = Guard::new(limits).accept(accepted, ()).await.unwrap();
        assert!(paced.inner.nodelay().unwrap());
    }
}
