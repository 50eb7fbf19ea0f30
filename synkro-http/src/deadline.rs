//! A header-read deadline: a new connection must finish its first request's headers within a
//! time limit or it is closed, so idle connections cannot be piled up to exhaust the server
//! (hyper's own header timeout needs a timer poem does not give it).

use std::{
    io,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use poem::{
    http::uri::Scheme,
    listener::Acceptor,
    web::{LocalAddr, RemoteAddr},
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    time::Sleep,
};

/// Wraps every connection `inner` accepts in a [`HeaderDeadline`].
pub(crate) struct HeaderDeadlineAcceptor<A> {
    pub(crate) inner: A,
    pub(crate) limit: Duration,
}

impl<A: Acceptor> Acceptor for HeaderDeadlineAcceptor<A> {
    type Io = HeaderDeadline<A::Io>;

    fn local_addr(&self) -> Vec<LocalAddr> {
        self.inner.local_addr()
    }

    async fn accept(&mut self) -> io::Result<(Self::Io, LocalAddr, RemoteAddr, Scheme)> {
        let (io, local, remote, scheme) = self.inner.accept().await?;
        Ok((HeaderDeadline::new(io, self.limit), local, remote, scheme))
    }
}

/// A connection whose reads fail once its deadline passes before the end of the first
/// request's headers (`\r\n\r\n`) was read; after that it is a plain connection.
pub(crate) struct HeaderDeadline<T> {
    inner: T,
    deadline: Option<Pin<Box<Sleep>>>,
    /// How much of `\r\n\r\n` the latest bytes matched.
    matched: usize,
}

const HEADERS_END: &[u8; 4] = b"\r\n\r\n";

impl<T> HeaderDeadline<T> {
    fn new(inner: T, limit: Duration) -> Self {
        Self { inner, deadline: Some(Box::pin(tokio::time::sleep(limit))), matched: 0 }
    }

    /// Follows the bytes just read; disarms the deadline at the end of the headers.
    fn saw(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.matched =
                if *byte == HEADERS_END[self.matched] { self.matched + 1 } else { usize::from(*byte == b'\r') };
            if self.matched == HEADERS_END.len() {
                self.deadline = None;
                return;
            }
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for HeaderDeadline<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if let Some(deadline) = this.deadline.as_mut()
            && deadline.as_mut().poll(cx).is_ready()
        {
            return Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "request headers not received in time")));
        }
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if this.deadline.is_some() && matches!(polled, Poll::Ready(Ok(()))) {
            let fresh = buf.filled()[before..].to_vec();
            this.saw(&fresh);
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for HeaderDeadline<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, data)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether the deadline is still armed after reading `chunks`.
    fn armed_after(chunks: &[&[u8]]) -> bool {
        let mut d = HeaderDeadline::new((), Duration::from_secs(60));
        for chunk in chunks {
            d.saw(chunk);
        }
        d.deadline.is_some()
    }

    #[tokio::test]
    async fn the_end_of_the_headers_is_found_across_reads() {
        assert!(!armed_after(&[b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"]));
        assert!(!armed_after(&[b"GET / HTTP/1.1\r\nHost: x\r", b"\n\r", b"\n"]));
        assert!(armed_after(&[b"GET / HTTP/1.1\r\nHost: x\r\n"]));
        assert!(armed_after(&[b"GET / HTTP/1.1\r\n\r\r\n"]), "a stray CR is not the end");
    }
}
