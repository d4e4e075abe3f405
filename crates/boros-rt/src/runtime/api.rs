//! The runtime's free functions for code running inside [`Runtime::block_on`]: spawn, stats,
//! the ring's facts, `yield_now`; and [`block_on`] on a runtime of its own.

use super::{with_current, Runtime, RuntimeStats};
use crate::task::{JoinHandle, JoinSet};
use std::future::Future;
use std::task::{Context, Poll};

/// Runs `future` on a new [`Runtime`] (with [`Config::default`]) and returns its output.
///
/// # Panics
/// If the ring cannot be set up (the message says why: kernel too old, io_uring disabled by
/// sysctl or seccomp...), or a runtime is already running on this thread.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let rt = Runtime::new().unwrap_or_else(|e| panic!("boros-rt: cannot set up io_uring: {e}"));
    rt.block_on(future)
}

impl<T: 'static> JoinSet<T> {
    /// Spawns a task into the set, on the runtime running on this thread.
    ///
    /// # Panics
    /// Outside [`Runtime::block_on`](crate::Runtime::block_on) (the message names
    /// `JoinSet::spawn`).
    pub fn spawn<F>(&mut self, future: F)
    where
        F: Future<Output = T> + 'static,
    {
        self.insert(with_current("JoinSet::spawn", |core| core.spawn(future)));
    }
}

/// Spawns a task on the runtime running on this thread. The task is `!Send`-friendly: it never
/// leaves this thread. Awaiting the [`JoinHandle`] gives its output; dropping the handle
/// detaches the task.
///
/// # Panics
/// When called outside [`Runtime::block_on`].
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
/// When called outside [`Runtime::block_on`].
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
/// When called outside [`Runtime::block_on`].
pub fn ring_info() -> boros::RingInfo {
    with_current("ring_info", |core| core.driver.borrow().info().clone())
}

/// The counters of the runtime running on this thread.
///
/// # Panics
/// When called outside [`Runtime::block_on`].
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
