//! Write-back started on idle CPU: `sync_file_range(SYNC_FILE_RANGE_WRITE)` of a range of a
//! file, run by one process-wide thread with the `SCHED_IDLE` policy, which the kernel only runs
//! when no other thread wants the CPU. The default write-behind of a large file that nothing is
//! known to sync (src-ts/fs/write-behind.ts): starting its write-back on an io-wq worker (the
//! ring's `IORING_OP_SYNC_FILE_RANGE`) competed with the writer for the CPU and made such files
//! slower; here the write-back only takes CPU nobody else wants, so an `fsync` that does come
//! waits for less, and a file nothing syncs is written as fast as without it
//! (docs/files-internals.md, "Write-behind on idle CPU").
//!
//! A job names the caller's descriptor number, not a duplicate: a duplicate would count against
//! the process' descriptor limit while the job waits (an application near it would see `EMFILE`)
//! and its close would drop the process' POSIX record locks on the file. If the caller closes the
//! number before the job runs and the number is reused, the call starts the write-back of
//! whatever the number is then (a `sync_file_range` moves no data and changes nothing but when
//! dirty pages reach the disk; on anything but a regular file it fails and nothing happens), as
//! the callback API's write-back starts on the ring already accept. Jobs wait in a bounded queue:
//! when it is full (the thread got no CPU for a while) a job is dropped, which only leaves those
//! pages to the kernel's flusher.

use std::os::fd::RawFd;
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::{Mutex, OnceLock};

/// Jobs waiting for the thread at most.
const QUEUE: usize = 64;

struct Job {
    fd: RawFd,
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
                        // SAFETY: a plain system call on a descriptor number (see the module
                        // doc for a number reused meanwhile); it touches no memory of ours.
                        unsafe {
                            libc::sync_file_range(
                                job.fd,
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
/// file) for the idle thread. Returns whether it was queued (false: the queue is full, or the
/// thread could not be started).
pub fn start(fd: RawFd, offset: i64, len: i64) -> bool {
    let Some(queue) = queue() else { return false };
    let tx = queue.lock().unwrap_or_else(|e| e.into_inner());
    match tx.try_send(Job { fd, offset, len }) {
        Ok(()) => true,
        // The job is dropped: the kernel's flusher writes those pages.
        Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => false,
    }
}
