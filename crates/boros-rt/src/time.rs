//! Timers on the ring's own `IORING_OP_TIMEOUT` (the core's `op::Timeout`): no timer wheel,
//! no extra thread. Each [`Sleep`] is one timeout op with an absolute `CLOCK_MONOTONIC`
//! deadline (the clock behind [`Instant`]), so timers fire in deadline order, whenever the
//! loop gets to submit them.

use crate::op::Op;
use boros::io_uring::types::TimeoutFlags;
use boros::op;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// Waits until `duration` has passed.
///
/// # Panics
/// When polled outside [`Runtime::block_on`](crate::Runtime::block_on).
pub fn sleep(duration: Duration) -> Sleep {
    sleep_until(Instant::now() + duration)
}

/// Waits until `deadline`.
///
/// # Panics
/// When polled outside [`Runtime::block_on`](crate::Runtime::block_on).
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep { deadline, op: None }
}

/// The future of [`sleep`]; dropping it cancels its timeout op.
#[must_use = "futures do nothing unless awaited"]
pub struct Sleep {
    deadline: Instant,
    op: Option<Op<op::Timeout>>,
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .finish()
    }
}

impl Sleep {
    /// When it fires.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }
}

/// `CLOCK_MONOTONIC` now, which is what `Instant` reads on Linux.
fn monotonic_now() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the local struct.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.op.is_none() {
            let now = Instant::now();
            if self.deadline <= now {
                return Poll::Ready(());
            }
            let at = monotonic_now() + (self.deadline - now);
            let timer = op::Timeout::new(at).flags(TimeoutFlags::ABS);
            let op = Op::submit(timer)
                .unwrap_or_else(|e| panic!("boros-rt: cannot queue a timeout: {e}"));
            self.op = Some(op);
        }
        let op = self.op.as_mut().expect("set above");
        match Pin::new(op).poll(cx) {
            Poll::Ready(c) => {
                self.op = None;
                // -ETIME: the time is up. Anything else (it cannot be -ECANCELED: only our
                // own drop cancels it) would be a kernel refusal; fall back to a re-check.
                if c.result != -libc::ETIME && Instant::now() < self.deadline {
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                // Never resolve before the deadline as `Instant` sees it.
                self.deadline = self.deadline.min(Instant::now());
                Poll::Ready(())
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The error of [`timeout`]: the time was up before the future finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

impl From<Elapsed> for std::io::Error {
    fn from(_: Elapsed) -> std::io::Error {
        std::io::ErrorKind::TimedOut.into()
    }
}

/// Runs `future` for at most `duration`. When the time is up first, `future` is dropped
/// (its in-flight ops are cancelled, their buffers staying owned by the ring until their
/// final CQEs) and the result is `Err(Elapsed)`.
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    Timeout {
        future,
        sleep: sleep(duration),
    }
}

/// The future of [`timeout`].
#[must_use = "futures do nothing unless awaited"]
pub struct Timeout<F> {
    future: F,
    sleep: Sleep,
}

impl<F> fmt::Debug for Timeout<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout")
            .field("sleep", &self.sleep)
            .finish()
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `future` is structurally pinned: it is never moved out of `self` and
        // `Timeout` has no `Drop` or `Unpin` impl that could move it. `sleep` is `Unpin`.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: as above, `future` stays where it is for as long as `self` is pinned.
        let future = unsafe { Pin::new_unchecked(&mut this.future) };
        if let Poll::Ready(v) = future.poll(cx) {
            return Poll::Ready(Ok(v));
        }
        match Pin::new(&mut this.sleep).poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed(()))),
            Poll::Pending => Poll::Pending,
        }
    }
}
