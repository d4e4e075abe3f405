//! The free functions a task calls on the runtime running on its thread.

use super::{with_current, RuntimeStats};
use crate::task::JoinHandle;
use std::future::Future;
use std::task::{Context, Poll};

/// Spawns a task on the runtime running on this thread. The task is `!Send`-friendly: it never
/// leaves this thread. Awaiting the [`JoinHandle`] gives its output; dropping the handle
/// detaches the task.
///
/// # Panics
/// When called outside [`Runtime::block_on`](crate::Runtime::block_on).
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    with_current("spawn", |core| core.spawn(future))
}

/// The same as [`spawn`]: every task of this runtime is local to its thread (`!Send`
/// futures are fine). Named for readers coming from tokio's `spawn_local`.
///
/// # Panics
/// When called outside [`Runtime::block_on`](crate::Runtime::block_on).
pub fn spawn_local<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    with_current("spawn_local", |core| core.spawn(future))
}

/// What the ring of the runtime running on this thread was set up with.
///
/// # Panics
/// When called outside [`Runtime::block_on`](crate::Runtime::block_on).
pub fn ring_info() -> boros::RingInfo {
    with_current("ring_info", |core| core.driver.borrow().info().clone())
}

/// The counters of the runtime running on this thread.
///
/// # Panics
/// When called outside [`Runtime::block_on`](crate::Runtime::block_on).
pub fn stats() -> RuntimeStats {
    with_current("stats", |core| core.stats())
}

/// Yields to the loop once: the task goes to the back of the run queue, and queued SQEs are
/// submitted (without waiting) before it runs again.
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// The future of [`yield_now`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();
    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
