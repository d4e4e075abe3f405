//! The ring itself: the submission and completion queues, `io_uring_enter`, and the CQEs
//! moved aside when the completion queue was full. No operation types live here: entries go
//! in, raw CQEs come out; [`driver`](crate::driver) pairs them with the ops that own them.

use crate::error::PushError;
use io_uring::{cqueue, squeue, types, IoUring};
use std::collections::VecDeque;
use std::io;
use std::time::Duration;

/// Counters, for `stats()` and for tests that count syscalls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Operations handed to the kernel.
    pub ops_submitted: u64,
    /// Operations whose final CQE was reaped.
    pub ops_completed: u64,
    /// `io_uring_enter` system calls made.
    pub enter_calls: u64,
    /// `io_uring_enter` calls that submitted at least one entry.
    pub batches: u64,
    /// Operations in flight (queued or submitted, final CQE not reaped yet).
    pub in_flight: u64,
    /// Abandoned operations whose final CQE has come back (and whose memory was freed then).
    pub orphans: u64,
    /// Descriptors and direct slots that CQEs of abandoned operations brought back, which
    /// the driver closed.
    pub leftovers_closed: u64,
}

/// A CQE copied out of the ring.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RawCqe {
    pub user_data: u64,
    pub result: i32,
    pub flags: u32,
}

/// How many CQEs are copied out of the ring per [`Ring::fill`].
pub(crate) const REAP_CHUNK: usize = 256;

thread_local! {
    /// `(errno, count)`: the next `count` enters of this thread fail with `errno` (see
    /// [`fail_next_enter`]).
    static FAULT: std::cell::Cell<(i32, u32)> = const { std::cell::Cell::new((0, 0)) };
}

/// Test hook: the next `count` `io_uring_enter` calls on this thread fail with `errno` without
/// entering the kernel (nothing is submitted; the entries stay queued), so that a host's
/// handling of a failed submit can be tested. Not for production use.
pub fn fail_next_enter(errno: i32, count: u32) {
    FAULT.with(|c| c.set((errno, count)));
}

fn injected() -> Option<io::Error> {
    FAULT.with(|c| {
        let (errno, count) = c.get();
        if count == 0 {
            return None;
        }
        c.set((errno, count - 1));
        Some(io::Error::from_raw_os_error(errno))
    })
}

/// One io_uring: its queues, the backlog of CQEs moved out of a full CQ, and the counters.
pub(crate) struct Ring {
    pub(crate) uring: IoUring,
    /// CQEs moved out of a full CQ so a submit could go on; delivered first.
    backlog: VecDeque<RawCqe>,
    pub(crate) stats: Stats,
    /// User operations queued in the SQ since the last enter.
    queued_ops: u64,
    /// `min_wait_usec` of the next enter that waits (`IORING_ENTER_EXT_ARG`, Linux 6.12+;
    /// see [`Driver::wait_min`](crate::Driver::wait_min)); 0: none.
    min_wait_usec: u32,
}

impl Ring {
    pub(crate) fn new(uring: IoUring) -> Self {
        Self {
            uring,
            backlog: VecDeque::new(),
            stats: Stats::default(),
            queued_ops: 0,
            min_wait_usec: 0,
        }
    }

    /// Whether entries are queued that no `io_uring_enter` has submitted yet.
    pub(crate) fn has_unsubmitted(&mut self) -> bool {
        !self.uring.submission().is_empty()
    }

    /// Whether the kernel has completion work an enter would run: deferred task work
    /// (`IORING_SQ_TASKRUN`) or an overflowed CQ.
    pub(crate) fn kernel_pending(&mut self) -> bool {
        let sq = self.uring.submission();
        sq.taskrun() || sq.cq_overflow()
    }

    /// Whether CQEs are waiting: in the backlog, in the CQ, or in work the kernel deferred.
    pub(crate) fn has_ready(&mut self) -> bool {
        !self.backlog.is_empty() || self.kernel_pending() || !self.uring.completion().is_empty()
    }

    /// CQEs in the backlog.
    pub(crate) fn backlog_len(&self) -> usize {
        self.backlog.len()
    }

    /// The oldest CQE moved aside by an earlier enter.
    pub(crate) fn pop_backlog(&mut self) -> Option<RawCqe> {
        self.backlog.pop_front()
    }

    /// Copies up to `raw.len()` CQEs out of the CQ; returns how many.
    pub(crate) fn fill(&mut self, raw: &mut [RawCqe; REAP_CHUNK]) -> usize {
        let mut entries: [std::mem::MaybeUninit<cqueue::Entry>; REAP_CHUNK] =
            [const { std::mem::MaybeUninit::uninit() }; REAP_CHUNK];
        let mut cq = self.uring.completion();
        let got = cq.fill(&mut entries);
        for (r, e) in raw.iter_mut().zip(got.iter()) {
            *r = RawCqe {
                user_data: e.user_data(),
                result: e.result(),
                flags: e.flags(),
            };
        }
        got.len()
    }

    /// Free entries in the SQ.
    pub(crate) fn room(&mut self) -> usize {
        let sq = self.uring.submission();
        sq.capacity() - sq.len()
    }

    /// Places entries in the SQ; `ops` of them are user operations, counted in the stats once
    /// submitted. The caller made room ([`room`](Self::room)).
    ///
    /// # Safety
    /// Every entry points only into memory that stays valid (and unmoved) until its final CQE.
    pub(crate) unsafe fn push(
        &mut self,
        entries: &[squeue::Entry],
        ops: u64,
    ) -> Result<(), PushError> {
        assert!(
            entries.len() <= self.uring.submission().capacity(),
            "chain longer than the submission queue"
        );
        // SAFETY: the caller's contract.
        unsafe { self.uring.submission().push_multiple(entries) }
            .map_err(|_| PushError::Submit(io::Error::from_raw_os_error(libc::EBUSY)))?;
        self.queued_ops += ops;
        Ok(())
    }

    /// Submits what is queued and blocks until `min_complete` CQEs are ready or `timeout` passes.
    pub(crate) fn wait(&mut self, min_complete: u32, timeout: Option<Duration>) -> io::Result<()> {
        // Completions already moved to the backlog count: do not block waiting for them.
        let min_complete = min_complete.saturating_sub(self.backlog.len() as u32);
        if min_complete == 0 && !self.backlog.is_empty() {
            return self.enter(0, None).map(|_| ());
        }
        self.enter(min_complete, timeout).map(|_| ())
    }

    /// As [`wait`](Self::wait), but the kernel waits at most `min_wait_usec` for
    /// `min_complete` CQEs, then returns with as many as are there (at least one, or waits on
    /// for the first). The caller checked `IORING_FEAT_MIN_TIMEOUT`.
    pub(crate) fn wait_min(
        &mut self,
        min_complete: u32,
        min_wait_usec: u32,
        timeout: Option<Duration>,
    ) -> io::Result<()> {
        if !self.backlog.is_empty() {
            return self.enter(0, None).map(|_| ());
        }
        self.min_wait_usec = min_wait_usec;
        let r = self.enter(min_complete, timeout).map(|_| ());
        self.min_wait_usec = 0;
        r
    }

    /// One `io_uring_enter(GETEVENTS)`, submitting whatever is queued, retried on EINTR; on
    /// EBUSY/EAGAIN (CQ full) the CQ is moved aside into the backlog and the enter retried.
    /// Any other error is returned with the entries still queued: the caller decides whether
    /// the ops they belong to fail.
    pub(crate) fn enter(
        &mut self,
        min_complete: u32,
        timeout: Option<Duration>,
    ) -> io::Result<usize> {
        loop {
            let to_submit = self.uring.submission().len() as u32;
            self.stats.enter_calls += 1;
            let result = if let Some(e) = injected() {
                Err(e)
            } else {
                match timeout {
                    None if self.min_wait_usec > 0 && min_complete > 0 => {
                        let args = types::SubmitArgs::new().min_wait_usec(self.min_wait_usec);
                        self.uring
                            .submitter()
                            .submit_with_args(min_complete as usize, &args)
                    }
                    None => {
                        // SAFETY: no extended argument is passed; `to_submit` is what we queued.
                        unsafe {
                            self.uring.submitter().enter::<libc::sigset_t>(
                                to_submit,
                                min_complete,
                                io_uring::EnterFlags::GETEVENTS.bits(),
                                None,
                            )
                        }
                    }
                    Some(t) => {
                        let ts = types::Timespec::from(t);
                        let args = types::SubmitArgs::new()
                            .timespec(&ts)
                            .min_wait_usec(self.min_wait_usec);
                        self.uring
                            .submitter()
                            .submit_with_args(min_complete.max(1) as usize, &args)
                    }
                }
            };
            match result {
                Ok(n) => {
                    if to_submit > 0 {
                        self.count_batch();
                    }
                    return Ok(n);
                }
                Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
                Err(e) if e.raw_os_error() == Some(libc::ETIME) => return Ok(0),
                Err(e) if matches!(e.raw_os_error(), Some(libc::EBUSY | libc::EAGAIN)) => {
                    if self.move_cq_to_backlog() == 0 {
                        return Err(e);
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Submits what is queued without `GETEVENTS`: the kernel issues the entries and runs no
    /// deferred completion work (with `DEFER_TASKRUN` that waits for the next enter that asks
    /// for completions). Retried on EINTR; any other error leaves the entries queued for the
    /// next enter. Returns whether the SQ is empty now.
    pub(crate) fn submit_now(&mut self) -> bool {
        loop {
            let to_submit = self.uring.submission().len() as u32;
            if to_submit == 0 {
                return true;
            }
            self.stats.enter_calls += 1;
            // SAFETY: no extended argument is passed; `to_submit` is what we queued.
            let r = unsafe {
                self.uring
                    .submitter()
                    .enter::<libc::sigset_t>(to_submit, 0, 0, None)
            };
            match r {
                Ok(_) => {
                    self.count_batch();
                    return self.uring.submission().is_empty();
                }
                Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
                Err(_) => return false,
            }
        }
    }

    /// Counts an enter that took the queued entries: one batch, and the ops they belong to.
    fn count_batch(&mut self) {
        self.stats.batches += 1;
        self.stats.ops_submitted += self.queued_ops;
        self.queued_ops = 0;
    }

    fn move_cq_to_backlog(&mut self) -> usize {
        let mut cq = self.uring.completion();
        let before = self.backlog.len();
        for e in &mut cq {
            self.backlog.push_back(RawCqe {
                user_data: e.user_data(),
                result: e.result(),
                flags: e.flags(),
            });
        }
        self.backlog.len() - before
    }
}
