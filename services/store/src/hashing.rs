//! The one way evidence content is hashed: a stream adapter that hashes and counts the bytes
//! passing through it. An upload reads its body through it (after feeding it the bytes a
//! resumed upload already staged); a re-hash drains a stored object through it.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::{Stream, StreamExt};
use sanxiang_domain::{Error, Sha256Digest};
use sha2::{Digest, Sha256};

/// Wraps a stream of content and hashes every chunk it yields (SHA-256 and length).
pub struct HashingStream<S> {
    inner: S,
    hasher: Sha256,
    size: u64,
}

impl<S> std::fmt::Debug for HashingStream<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashingStream").field("size", &self.size).finish_non_exhaustive()
    }
}

impl<S> HashingStream<S> {
    /// Hashes what `inner` yields from its first byte.
    pub fn new(inner: S) -> Self {
        Self { inner, hasher: Sha256::new(), size: 0 }
    }

    /// Bytes hashed so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Continues hashing with another source (the body of an upload after its staged bytes).
    pub fn chain<T>(self, next: T) -> HashingStream<T> {
        HashingStream { inner: next, hasher: self.hasher, size: self.size }
    }

    /// The digest and length of everything yielded so far.
    pub fn finish(self) -> (Sha256Digest, u64) {
        (self.hasher.finalize().into(), self.size)
    }
}

impl<S: Stream<Item = Result<Bytes, Error>> + Unpin> HashingStream<S> {
    /// Reads the stream to its end and returns the digest and length of all of it.
    pub async fn drain(mut self) -> Result<(Sha256Digest, u64), Error> {
        while let Some(chunk) = self.next().await {
            chunk?;
        }
        Ok(self.finish())
    }
}

impl<S, E> Stream for HashingStream<S>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
{
    type Item = Result<Bytes, E>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let next = this.inner.poll_next_unpin(cx);
        if let Poll::Ready(Some(Ok(chunk))) = &next {
            this.hasher.update(chunk);
            this.size += chunk.len() as u64;
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn chained_sources_hash_as_one_content() {
        let whole: Vec<u8> = (0..100_000u32).flat_map(u32::to_le_bytes).collect();
        let (a, b) = whole.split_at(123_457);
        let staged = futures::stream::iter([Ok::<_, Error>(Bytes::copy_from_slice(a))]);
        let mut first = HashingStream::new(staged);
        while let Some(c) = first.next().await {
            c.unwrap();
        }
        let body = futures::stream::iter(b.chunks(1000).map(|c| Ok::<_, Error>(Bytes::copy_from_slice(c))));
        let rest = first.chain(body);
        assert_eq!(rest.drain().await.unwrap(), (Sha256Digest::of(&whole), whole.len() as u64));
    }

    #[tokio::test]
    async fn an_error_is_passed_on_and_not_hashed() {
        let items = vec![Ok(Bytes::from_static(b"abc")), Err(Error::Unavailable("gone".into()))];
        let mut s = HashingStream::new(futures::stream::iter(items));
        assert!(s.next().await.unwrap().is_ok());
        assert!(s.next().await.unwrap().is_err());
        assert_eq!(s.finish(), (Sha256Digest::of(b"abc"), 3));
    }
}
