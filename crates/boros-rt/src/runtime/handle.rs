//! The [`Runtime`] a user holds: `block_on`'s loop of three phases, and the guard that makes
//! it the runtime running on this thread.

use super::{Core, Polling, RuntimeStats, TaskWaker, CURRENT, MAIN_TASK};
use crate::task::JoinHandle;
use boros::{Config, SetupError};
use std::fmt;
use std::future::Future;
use std::os::fd::RawFd;
use std::pin::pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

/// A runtime: one io_uring, its run queue and its tasks, on the thread that made it.
///
/// Tasks are not `Send` (they never leave this thread); wakers are, and a wake from another
/// thread interrupts the loop's wait. One runtime runs per thread at a time: `block_on` panics
/// if another one is already running on the thread.
///
/// ```no_run
/// let rt = boros_rt::Runtime::new()?;
/// let text = rt.block_on(async { boros_rt::fs::read("/etc/hostname").await })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Runtime {
    core: Rc<Core>,
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("stats", &self.core.stats())
            .finish()
    }
}

impl Runtime {
    /// A runtime on a ring with [`Config::default`].
    pub fn new() -> Result<Self, SetupError> {
        Self::with_config(&Config::default())
    }

    /// A runtime on a ring built from `config`.
    pub fn with_config(config: &Config) -> Result<Self, SetupError> {
        Ok(Self {
            core: Core::new(config)?,
        })
    }

    /// Runs `future` to completion on this thread, with every task spawned meanwhile.
    /// Returns when `future` completes; tasks still pending stay in the runtime (a later
    /// `block_on` runs them on) until the runtime is dropped. Ops whose futures `future`
    /// dropped in its last poll (or with itself) are cancelled before it returns: their
    /// cancels are submitted and what is posted is reaped, so a stream dropped there is
    /// closed for its peer too, not only when the runtime runs again.
    ///
    /// # Panics
    /// If a runtime is already running on this thread, or the ring fails (an
    /// `io_uring_enter` error other than `EINTR`/`EBUSY`, which the driver handles).
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let _guard = Enter::new(&self.core);
        let core = &*self.core;
        let mut future = pin!(future);
        let waker = Waker::from(Arc::new(TaskWaker {
            id: MAIN_TASK,
            shared: core.shared.clone(),
        }));
        let mut cx = Context::from_waker(&waker);
        core.main_woken.set(true);
        loop {
            core.bump(|s| s.ticks += 1);
            // Phase 1: run what is ready.
            core.drain_remote();
            if core.main_woken.replace(false) {
                core.bump(|s| s.polls += 1);
                let polling = Polling::start(core, MAIN_TASK, &waker);
                let poll = future.as_mut().poll(&mut cx);
                drop(polling);
                if let Poll::Ready(v) = poll {
                    return v;
                }
            }
            let ready = core.queue.borrow().len();
            for _ in 0..ready {
                let Some(id) = core.queue.borrow_mut().pop_front() else {
                    break;
                };
                core.run_task(id);
            }
            // Phases 2 and 3.
            if let Err(e) = core.turn_io() {
                panic!("boros-rt: the ring failed: {e}");
            }
        }
    }

    /// Spawns a task on this runtime; it runs during `block_on`.
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.core.spawn(future)
    }

    /// The runtime's counters.
    pub fn stats(&self) -> RuntimeStats {
        self.core.stats()
    }

    /// The ring's descriptor (for [`Config::attach_wq`] of another runtime's ring).
    pub fn ring_fd(&self) -> RawFd {
        self.core.driver.borrow().ring_fd()
    }

    /// What the ring was set up with: kernel, flags, queue sizes, supported opcodes.
    pub fn ring_info(&self) -> boros::RingInfo {
        self.core.driver.borrow().info().clone()
    }
}

impl Drop for Runtime {
    /// Drops every task first (their in-flight ops are cancelled, and stay owned by the
    /// driver), then the ring, which waits for every final CQE before freeing any op memory.
    fn drop(&mut self) {
        self.core.shutdown_tasks();
    }
}

/// Marks the runtime as running on this thread for the duration of `block_on`. Dropped after
/// the main future (declared before it), so that what the future's drop cancels is settled.
struct Enter;

impl Enter {
    fn new(core: &Rc<Core>) -> Self {
        CURRENT.with(|c| {
            let mut c = c.borrow_mut();
            if c.is_some() {
                panic!(
                    "boros-rt: a runtime is already running on this thread \
                     (block_on cannot be nested; spawn a task or await instead)"
                );
            }
            *c = Some(core.clone());
        });
        core.in_loop.set(true);
        Enter
    }
}

impl Drop for Enter {
    /// The loop stops: ops whose futures the last poll dropped (a `timeout` that fired, a
    /// stream dropped as the main future returned) have their cancels queued, and no turn
    /// submits them until the next `block_on`, maybe never: submit and reap them now, or a
    /// send to a peer that never reads holds the socket open (see [`Core::abandoned`]).
    fn drop(&mut self) {
        let core = CURRENT.with(|c| c.borrow_mut().take());
        if let Some(core) = core {
            core.in_loop.set(false);
            core.settle();
        }
    }
}

/// Runs `future` on a new [`Runtime`] (with [`Config::default`]) and returns its output.
///
/// # Panics
/// If the ring cannot be set up (the message says why: kernel too old, io_uring disabled by
/// sysctl or seccomp...), or a runtime is already running on this thread.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let rt = Runtime::new().unwrap_or_else(|e| panic!("boros-rt: cannot set up io_uring: {e}"));
    rt.block_on(future)
}
