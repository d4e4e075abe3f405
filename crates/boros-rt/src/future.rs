//! Racing futures without `Box::pin(..).fuse()`: [`select`] takes any two futures by value
//! (pinning them itself) or by `&mut` (for `Unpin` ones you want to keep, like a
//! [`Cancelable`](crate::cancel::Cancelable) op), polls both, and returns the first output.
//! The loser is dropped (an op future's drop cancels its op safely; use a `Cancelable` by
//! `&mut` when the loser's bytes matter). For deadlines, [`time::timeout`](crate::time::timeout).
//!
//! ```no_run
//! use boros_rt::future::{select, Either};
//! use boros_rt::time::sleep;
//! use std::time::Duration;
//! # boros_rt::block_on(async {
//! match select(sleep(Duration::from_millis(5)), async { 42 }).await {
//!     Either::Left(()) => unreachable!(),
//!     Either::Right(v) => assert_eq!(v, 42),
//! }
//! # });
//! ```

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// One of two outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Either<A, B> {
    /// The first future finished first.
    Left(A),
    /// The second future finished first.
    Right(B),
}

/// Waits for the first of two futures; the other is dropped. When both are ready in the
/// same poll, `a` wins (polled first).
pub async fn select<A: Future, B: Future>(a: A, b: B) -> Either<A::Output, B::Output> {
    let mut a = std::pin::pin!(a);
    let mut b = std::pin::pin!(b);
    std::future::poll_fn(|cx: &mut Context<'_>| {
        if let Poll::Ready(v) = a.as_mut().poll(cx) {
            return Poll::Ready(Either::Left(v));
        }
        if let Poll::Ready(v) = b.as_mut().poll(cx) {
            return Poll::Ready(Either::Right(v));
        }
        Poll::Pending
    })
    .await
}

/// Polls a future once: `Some(output)` if it was ready, `None` (and it stays registered
/// for a wake-up) if not. Handy to start an op without awaiting it.
pub async fn poll_once<F: Future + Unpin>(f: &mut F) -> Option<F::Output> {
    std::future::poll_fn(|cx| {
        Poll::Ready(match Pin::new(&mut *f).poll(cx) {
            Poll::Ready(v) => Some(v),
            Poll::Pending => None,
        })
    })
    .await
}
