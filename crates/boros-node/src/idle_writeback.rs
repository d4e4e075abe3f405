//! Write-back started on idle CPU: `sync_file_range(SYNC_FILE_RANGE_WRITE)` of a range of a
//! file, run by one process-wide thread with the `SCHED_IDLE` policy, which the kernel only runs
//! when no other thread wants the CPU. The default write-behind of a large file that nothing is
//! known to sync (src-ts/fs/write-behind.ts): starting its write-back on an io-wq worker (the
//! ring's `IORING_OP_SYNC_FILE_RANGE`) competed with the writer for the CPU and made such files
//! slower; here the write-back only takes CPU nobody else wants, so an `fsync` that does come
//! waits for less, and a file nothing syncs is written as fast as without it
//! (docs/files-internals.md, "Write-behind on idle CPU").
//!
//! Each job holds its own duplicate of the caller's descriptor (`F_DUPFD_CLOEXEC`, made on the
//! JS thread), so the caller may close its descriptor at any time; the thread closes the
//! duplicate after the call. Jobs wait in a bounded queue: when it is full (the thread got no CPU
//! for a while) a job is dropped, which only leaves those pages to the kernel's flusher.

use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::{Mutex, OnceLock};

/// Jobs waiting for the thread at most (each holds a descriptor).
const QUEUE: usize = 64;

struct Job {
    fd: OwnedFd,
    offset: i64,
    len: i64,
}

static QUEUE_TX: OnceLock<Option<Mutex<SyncSender<Job>>>> = OnceLock::new();

/// The queue of the thread, started on first use; `None` if it could not be started.
fn queue() -> Option<&'static Mutex<SyncSender<Job>>> {
    QUEUE_TX
        .get_or_init(|| {
            let (tx, rx) = sync_channel::<Job>(QUEUE);
            std::thread::Builder::new()
                .name("boros-writeback".into())
                .spawn(move || {
                    let param = libc::sched_param { sched_priority: 0 };
                    // SAFETY: `param` is a valid sched_param for the call; pid 0 is this thread.
                    // Failing leaves the thread at normal priority: still correct.
                    unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) };
                    while let Ok(job) = rx.recv() {
                        // SAFETY: `job.fd` is a descriptor this job owns, open until it drops
                        // after the call; the call touches no memory of ours.
                        unsafe {
                            libc::sync_file_range(
                                std::os::fd::AsRawFd::as_raw_fd(&job.fd),
                                job.offset,
                                job.len,
                                libc::SYNC_FILE_RANGE_WRITE,
                            )
                        };
                    }
                })
                .ok()
                .map(|_| Mutex::new(tx))
        })
        .as_ref()
}

/// Queues the write-back start of `len` bytes of `fd` from `offset` (`len` 0: to the end of the
/// file) for the idle thread. Returns whether it was queued (false: the descriptor could not be
/// duplicated, the queue is full, or the thread could not be started).
pub fn start(fd: RawFd, offset: i64, len: i64) -> bool {
    let Some(queue) = queue() else { return false };
    // SAFETY: fcntl(F_DUPFD_CLOEXEC) on a caller's descriptor number; no memory is passed.
    let dup = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
    if dup < 0 {
        return false;
    }
    // SAFETY: `dup` was just returned by fcntl and is owned by nothing else.
    let fd = unsafe { OwnedFd::from_raw_fd(dup) };
    let tx = queue.lock().unwrap_or_else(|e| e.into_inner());
    match tx.try_send(Job { fd, offset, len }) {
        Ok(()) => true,
        // The job (and its descriptor) is dropped: the kernel's flusher writes those pages.
        Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => false,
    }
}
