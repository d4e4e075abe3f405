//! The wake-ups of a runtime: what other threads see of it ([`Shared`]), and the waker
//! every task holds ([`TaskWaker`]).

use super::CURRENT;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Wake;

/// The part of a runtime other threads see: wake-ups queued for it, and the eventfd that
/// interrupts its wait.
pub(crate) struct Shared {
    pub(super) remote: Mutex<Vec<u64>>,
    /// Set while the loop is (about to be) blocked in `io_uring_enter`.
    pub(super) sleeping: AtomicBool,
    /// A blocking eventfd; the loop keeps a read on it in flight while it waits.
    pub(super) wake_fd: OwnedFd,
    pub(super) remote_wakes: AtomicU64,
}

impl Shared {
    pub(super) fn wake_remote(&self, id: u64) {
        self.remote
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(id);
        self.remote_wakes.fetch_add(1, Ordering::Relaxed);
        // Pairs with the loop's `sleeping.store(true)` followed by its look at `remote`:
        // either the loop sees our id, or we see it sleeping and interrupt the wait.
        if self.sleeping.load(Ordering::SeqCst) {
            let v: u64 = 1;
            // SAFETY: writes 8 bytes from a local u64 to an eventfd this struct owns; a
            // failure (counter overflow) leaves the fd readable, which is all we need.
            unsafe { libc::write(self.wake_fd.as_raw_fd(), (&v as *const u64).cast(), 8) };
        }
    }
}

/// What a task's [`Waker`] holds: the task's id and its runtime's shared part. `Send + Sync`:
/// a wake from the runtime's own thread goes straight to the run queue, a wake from any
/// other thread goes through [`Shared`] and the eventfd.
pub(crate) struct TaskWaker {
    pub(crate) id: u64,
    pub(crate) shared: Arc<Shared>,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref()
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let local = CURRENT
            .try_with(|c| match &*c.borrow() {
                Some(core) if Arc::ptr_eq(&core.shared, &self.shared) => {
                    core.schedule(self.id);
                    true
                }
                _ => false,
            })
            .unwrap_or(false);
        if !local {
            self.shared.wake_remote(self.id);
        }
    }
}
