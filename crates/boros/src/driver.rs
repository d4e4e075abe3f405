//! The driver: push -> submit -> reap, for one ring on one thread.
//!
//! A host loop drives it in three phases:
//! 1. run whatever is ready; each step may [`push`](Driver::push) operations (no syscall);
//! 2. when nothing is left to run, [`submit`](Driver::submit) everything queued in one
//!    `io_uring_enter` (a host that blocks elsewhere, like libuv, watches [`eventfd`](Driver::eventfd));
//!    a host that blocks on the ring itself calls [`wait`](Driver::wait);
//! 3. [`reap`](Driver::reap) all completions, each handed over with the op it belongs to.
//!
//! The parts live below this file: [`ring`](crate::ring) (queues, `io_uring_enter`),
//! [`inflight`](crate::inflight) (the slab of ops, CQE to op), [`groups`](crate::groups)
//! (provided-buffer groups and their retirement), [`fixed`](crate::fixed) (registered tables);
//! phase 3 (reaping) is in `reap.rs`, the calls that register resources on the ring in
//! `resources.rs`, and giving up on ops (abandon, discard) in `abandon.rs`, all above this file.

use crate::cqe::{Cqe, OpRef, CANCEL_TAG};
use crate::error::{PushError, SetupError};
use crate::fixed::{Releases, Tables};
use crate::groups::BufGroups;
use crate::inflight::Ops;
use crate::kernel::KernelVersion;
use crate::op::OpCode;
use crate::ring::{Ring, Stats};
use crate::setup::{self, Config, RingInfo, TaskRun};
use crate::slab::OpKey;
use io_uring::{opcode, squeue, types};
use std::io;
use std::marker::PhantomData;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

/// One io_uring and the operations in flight on it. Not `Send`: with `SINGLE_ISSUER`, only
/// the thread that owns the ring may submit to it.
///
/// `O` is the type ops are stored as until their final CQE: `dyn OpCode` by default (ops
/// come back through [`Completion::take_op`](crate::Completion::take_op)), or a host's own
/// trait object (say `dyn NodeOp: OpCode`, whose ops finish themselves) built with
/// [`Driver::build`].
pub struct Driver<O: ?Sized + OpCode = dyn OpCode> {
    pub(crate) ring: Ring,
    /// Registered buffer and file tables (their calls: `resources.rs`).
    pub(crate) fixed: Tables,
    /// Buffer ranges to empty before the next push, registration, submit or reap.
    pub(crate) releases: Releases,
    pub(crate) ops: Ops<O>,
    pub(crate) groups: BufGroups,
    eventfd: OwnedFd,
    info: RingInfo,
    /// Set when a submit failed for good ([`fail_unsubmitted`](Self::fail_unsubmitted)):
    /// the ring is never entered again.
    pub(crate) dead: Option<i32>,
    _not_send: PhantomData<*const ()>,
}

impl Driver {
    /// Sets up a ring with [`Config::default`].
    pub fn new() -> Result<Self, SetupError> {
        Self::build(&Config::default())
    }

    /// Sets up a ring: `SINGLE_ISSUER | DEFER_TASKRUN | TASKRUN_FLAG | SUBMIT_ALL | CLAMP`, a CQ
    /// at least twice the SQ, `NO_SQARRAY` where the kernel takes it, and an eventfd that the
    /// kernel signals when completions are waiting.
    pub fn with_config(config: &Config) -> Result<Self, SetupError> {
        Self::build(config)
    }
}

impl<O: ?Sized + OpCode> Driver<O> {
    /// As [`Driver::with_config`], for a driver storing its ops as `O`.
    pub fn build(config: &Config) -> Result<Self, SetupError> {
        Self::build_with_task_run(config, TaskRun::Defer)
    }

    /// As [`Driver::build`], choosing when the kernel runs completion work (see
    /// [`TaskRun`](crate::TaskRun): a host that sleeps in its own poller wants `Coop`).
    pub fn build_with_task_run(config: &Config, task_run: TaskRun) -> Result<Self, SetupError> {
        let (ring, info) = setup::build(config, task_run)?;
        // SAFETY: eventfd takes no pointers; we check the result before using it.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd < 0 {
            return Err(SetupError::Io {
                step: "eventfd",
                source: io::Error::last_os_error(),
            });
        }
        // SAFETY: `fd` is a fresh descriptor that nothing else owns.
        let eventfd = unsafe { OwnedFd::from_raw_fd(fd) };
        ring.submitter()
            .register_eventfd(eventfd.as_raw_fd())
            .map_err(|source| SetupError::Io {
                step: "IORING_REGISTER_EVENTFD",
                source,
            })?;
        Ok(Self {
            ring: Ring::new(ring),
            fixed: Tables::default(),
            releases: Releases::default(),
            ops: Ops::new(),
            groups: BufGroups::default(),
            eventfd,
            info,
            dead: None,
            _not_send: PhantomData,
        })
    }

    /// What was set up: kernel, flags, queue sizes, supported opcodes.
    pub fn info(&self) -> &RingInfo {
        &self.info
    }

    /// The ring's own descriptor, for [`Config::attach_wq`] of another ring, or for a host loop
    /// to poll: readable while CQEs wait (or the CQ overflowed), and woken at every CQE posted,
    /// unless the ring runs [`TaskRun::Defer`] (then only the eventfd hears of socket work).
    pub fn ring_fd(&self) -> RawFd {
        self.ring.uring.as_raw_fd()
    }

    /// The counters.
    pub fn stats(&self) -> Stats {
        Stats {
            in_flight: self.ops.len() as u64,
            orphans: self.ops.leftovers.orphans,
            leftovers_closed: self.ops.leftovers.closed,
            ..self.ring.stats
        }
    }

    /// Operations queued or in flight.
    pub fn in_flight(&self) -> usize {
        self.ops.len()
    }

    /// Whether the op of `key` is still queued or in flight (false once its final CQE was reaped).
    pub fn is_in_flight(&mut self, key: OpKey) -> bool {
        self.ops.get_mut(key).is_some()
    }

    /// Whether the op of `key` is queued in the SQ and no `io_uring_enter` has taken it yet.
    /// The kernel looks an op's descriptor up only when it takes the entry: a host that
    /// abandons such an op and may close the descriptor next submits first, or the op (and
    /// its cancel, queued behind it) reaches whatever file the number names by then. Linear in
    /// the ops queued since the last enter (at most the SQ's size: a full SQ is submitted).
    pub fn is_unsubmitted(&self, key: OpKey) -> bool {
        self.ops.is_unsubmitted(key)
    }

    /// Whether entries are queued that no `io_uring_enter` has submitted yet.
    pub fn has_unsubmitted(&mut self) -> bool {
        self.ring.has_unsubmitted()
    }

    /// Whether completions are waiting to be reaped (CQEs in the ring or the backlog, deferred
    /// completion work, or an overflowed CQ). Checked after clearing the eventfd, so that no
    /// wake-up is lost between the last reap and the clear.
    pub fn has_ready(&mut self) -> bool {
        self.ring.has_ready()
    }

    /// Whether a reap would have work besides completions: registered-buffer releases,
    /// leftover fixed-file slots to close, retired buffer groups to unregister (what
    /// [`reap`](Self::reap) does after the CQEs). With this and [`has_ready`](Self::has_ready)
    /// both false, a reap would do nothing: a host may skip it (and whatever it sets up for
    /// one).
    pub fn has_housekeeping(&self) -> bool {
        !self.releases.is_empty()
            || (!self.ops.leftovers.slots.is_empty() && self.dead.is_none())
            || self.groups.has_retiring()
    }

    /// The errno of the submit that failed for good, once [`fail_unsubmitted`](Self::fail_unsubmitted)
    /// gave up on this ring.
    pub fn dead(&self) -> Option<i32> {
        self.dead
    }

    /// The eventfd the kernel signals when completions (or deferred completion work) are
    /// pending. A host loop polls it for readability, then calls [`clear_eventfd`](Self::clear_eventfd)
    /// and [`reap`](Self::reap).
    pub fn eventfd(&self) -> RawFd {
        self.eventfd.as_raw_fd()
    }

    /// Resets the eventfd counter so a level-triggered poller stops reporting it.
    pub fn clear_eventfd(&self) {
        let mut v = 0u64;
        // SAFETY: reads 8 bytes into a local u64; the fd is non-blocking, so a zero counter
        // returns EAGAIN at once, which we ignore.
        unsafe { libc::read(self.eventfd.as_raw_fd(), (&mut v as *mut u64).cast(), 8) };
    }

    /// Stops the kernel signalling the eventfd (`IORING_UNREGISTER_EVENTFD`), for a host that
    /// blocks in [`wait`](Self::wait) and never reads it, or that polls [`ring_fd`](Self::ring_fd)
    /// instead (a ring without `DEFER_TASKRUN` wakes its pollers at every CQE): every flush of completions otherwise
    /// signals it (`io_eventfd_signal`, a wait-queue lock, ~0.25% of an echo server's CPU).
    /// [`eventfd`](Self::eventfd) stays open, and only [`signal_eventfd`](Self::signal_eventfd)
    /// makes it readable from then on.
    pub fn unregister_eventfd(&mut self) -> io::Result<()> {
        self.ring.uring.submitter().unregister_eventfd()
    }

    /// Makes the eventfd readable, so a host loop watching it wakes up (for results the host
    /// produced itself, without a CQE).
    pub fn signal_eventfd(&self) {
        let v: u64 = 1;
        // SAFETY: writes 8 bytes from a local u64 to our eventfd; failure (counter overflow) is
        // harmless because the fd is then readable anyway.
        unsafe { libc::write(self.eventfd.as_raw_fd(), (&v as *const u64).cast(), 8) };
    }

    /// Queues an operation; no syscall unless the SQ is full (then the queued batch is submitted
    /// first). `token` comes back in its [`Cqe`].
    pub fn push(&mut self, op: Box<O>, token: u64) -> Result<OpKey, PushError> {
        self.push_with(op, token, squeue::Flags::empty())
    }

    /// As [`push`](Self::push), with SQE flags (`ASYNC`, `FIXED_FILE` is set by the op).
    pub fn push_with(
        &mut self,
        op: Box<O>,
        token: u64,
        flags: squeue::Flags,
    ) -> Result<OpKey, PushError> {
        // One op: the same steps as `push_linked`, without its vectors (the hot path).
        self.check_pushable()?;
        let (key, group) = self.ops.insert(op, token);
        let op = self.ops.get_mut(key).expect("just inserted");
        let entry = op.op.entry().flags(flags).user_data(key.as_u64());
        if let Err(e) = self
            .check_supported(&entry)
            .and_then(|_| self.push_entries(std::slice::from_ref(&entry), 1))
        {
            self.ops.remove(key);
            return Err(e);
        }
        self.pushed(key, group);
        Ok(key)
    }

    /// Before a push: refused on a dead ring; pending releases done first.
    pub(crate) fn check_pushable(&mut self) -> Result<(), PushError> {
        if let Some(errno) = self.dead {
            return Err(PushError::Submit(io::Error::from_raw_os_error(errno)));
        }
        self.apply_releases();
        Ok(())
    }

    /// After a push: the op counts among its buffer group's users and the unsubmitted ops.
    pub(crate) fn pushed(&mut self, key: OpKey, group: Option<u16>) {
        self.groups.track(group, 1);
        self.ops.queued(key);
    }

    /// Asks the kernel to cancel an op. Returns false if the op already completed (stale key).
    /// The op still completes exactly once: with `-ECANCELED`, or with its own result if the
    /// cancel came too late. Its memory stays owned until then.
    pub fn cancel(&mut self, key: OpKey) -> Result<bool, PushError> {
        let Some(op) = self.ops.get_mut(key) else {
            return Ok(false);
        };
        if !op.cancelled {
            op.cancelled = true;
            let entry = opcode::AsyncCancel::new(key.as_u64())
                .build()
                .user_data(CANCEL_TAG);
            self.push_entries(&[entry], 0)?;
        }
        Ok(true)
    }

    /// Asks the kernel to cancel every op in flight on descriptor `fd`
    /// (`IORING_ASYNC_CANCEL_FD | IORING_ASYNC_CANCEL_ALL`, Linux 5.19). A socket's close does
    /// not end a send still waiting for room (the op holds its own reference to the file), so
    /// a process whose socket was closed under a send to a peer that stopped reading never
    /// went idle; node:net's close cancels its pending writes. Each op still completes exactly
    /// once, with `-ECANCELED` if the cancel won; its memory stays owned until then. The kernel
    /// looks `fd` up when it issues this entry, in queue order: push it before the close.
    pub fn cancel_fd(&mut self, fd: RawFd) -> Result<(), PushError> {
        let entry = opcode::AsyncCancel2::new(types::CancelBuilder::fd(types::Fd(fd)).all())
            .build()
            .user_data(CANCEL_TAG);
        self.push_entries(&[entry], 0)
    }

    /// Queues the closes of direct slots abandoned ops filled; their CQEs free the slots.
    pub(crate) fn close_leftover_slots(&mut self) {
        while let Some(slot) = self.ops.leftovers.slots.pop() {
            let entry = opcode::Close::new(types::Fixed(slot))
                .build()
                .user_data(crate::inflight::LEFTOVER_CLOSE_TAG | slot as u64);
            if self.push_entries(&[entry], 0).is_err() {
                // A dead ring: its file table goes with it.
                self.ops.leftovers.slots.clear();
            }
        }
    }

    /// Asks the kernel to cancel every op in flight. Each completes exactly once, as after
    /// [`cancel`](Self::cancel): the ops are marked cancelled first, so one that ends
    /// `-ENOBUFS` meanwhile, or waits in the driver for a buffer
    /// ([`OpCode::rearm_when_starved`]), is not armed again behind the kernel's cancel (where
    /// nothing would cancel it: a teardown waiting for the last CQE hung there).
    pub fn cancel_all(&mut self) -> Result<(), PushError> {
        let entry = opcode::AsyncCancel2::new(types::CancelBuilder::any())
            .build()
            .user_data(CANCEL_TAG);
        self.push_entries(&[entry], 0)?;
        self.ops.mark_all_cancelled();
        Ok(())
    }

    /// Submits everything queued in one `io_uring_enter` (with `GETEVENTS`, so deferred
    /// completion work runs in the same call). Returns how many entries the kernel took.
    /// This is the `flush()` an external event loop calls just before it blocks.
    ///
    /// On an error the entries stay queued. `EINTR` is retried here, and so is `EBUSY`/`EAGAIN`
    /// after moving the CQ aside; an `EAGAIN`/`EBUSY`/`ENOMEM` that remains is worth retrying
    /// later; anything else means the ring cannot take them: the host gives up with
    /// [`fail_unsubmitted`](Self::fail_unsubmitted).
    pub fn submit(&mut self) -> io::Result<usize> {
        self.apply_releases();
        if !self.ring.has_unsubmitted() {
            return Ok(0);
        }
        self.enter(0, None)
    }

    /// Submits what is queued and runs the kernel's deferred completion work now, entering
    /// again while `IORING_SQ_TASKRUN` says some is left (at most `max_enters` times in all):
    /// an op the kernel has finished (a cancelled one) lets go of what it held (its file)
    /// before this returns. The CQEs wait in the CQ for the next reap. Errors as
    /// [`submit`](Self::submit)'s.
    pub fn run_kernel_work(&mut self, max_enters: usize) -> io::Result<()> {
        self.apply_releases();
        for _ in 0..max_enters {
            self.enter(0, None)?;
            if !self.ring.kernel_pending() {
                break;
            }
        }
        Ok(())
    }

    /// Submits what is queued and blocks until `min_complete` CQEs are ready or `timeout` passes.
    pub fn wait(&mut self, min_complete: u32, timeout: Option<Duration>) -> io::Result<()> {
        self.check_alive()?;
        let r = self.ring.wait(min_complete, timeout);
        if r.is_ok() && !self.ring.has_unsubmitted() {
            self.ops.all_submitted();
        }
        r
    }

    /// As [`wait`](Self::wait), batching wake-ups: the kernel waits at most `min_wait` for
    /// `min_complete` CQEs, then returns as soon as there is one (`IORING_ENTER_EXT_ARG` with
    /// `min_wait_usec`, Linux 6.12+: [`RingInfo::min_wait`](crate::RingInfo::min_wait); without
    /// it, a plain `wait(1, timeout)`). Fewer wake-ups per completion under load, up to
    /// `min_wait` more latency when fewer than `min_complete` ops are busy.
    pub fn wait_min(
        &mut self,
        min_complete: u32,
        min_wait: Duration,
        timeout: Option<Duration>,
    ) -> io::Result<()> {
        let usec = u32::try_from(min_wait.as_micros()).unwrap_or(u32::MAX);
        if !self.info.min_wait || usec == 0 || min_complete <= 1 {
            return self.wait(1, timeout);
        }
        self.check_alive()?;
        let r = self.ring.wait_min(min_complete, usec, timeout);
        if r.is_ok() && !self.ring.has_unsubmitted() {
            self.ops.all_submitted();
        }
        r
    }

    /// Gives up on the ops whose SQEs no enter took, after a submit failed with an errno that
    /// retrying will not cure: each is handed to `sink` as a final CQE with `-errno`, its memory
    /// the caller's (the kernel never saw it). The ring is never entered again (its SQ still
    /// holds those entries), so later pushes fail with the same errno; ops submitted before
    /// stay owned here until the driver drops (and are leaked then if the ring cannot be
    /// waited on). Returns how many ops failed.
    pub fn fail_unsubmitted(
        &mut self,
        errno: i32,
        mut sink: impl FnMut(Cqe, OpRef<'_, O>),
    ) -> usize {
        self.dead = Some(errno);
        self.ops
            .fail_unsubmitted(errno, &self.groups, &mut self.fixed, &mut sink)
    }

    pub(crate) fn apply_releases(&mut self) {
        if self.releases.is_empty() {
            return;
        }
        let submitter = self.ring.uring.submitter();
        for (first, n, memory) in self.releases.take() {
            self.fixed.unregister_buffers(&submitter, first, n);
            // The slots are empty: the memory may go (the kernel unpins it once the last
            // request using it completed, and none is in flight).
            drop(memory);
        }
    }

    fn check_alive(&self) -> io::Result<()> {
        match self.dead {
            Some(errno) => Err(io::Error::from_raw_os_error(errno)),
            None => Ok(()),
        }
    }

    pub(crate) fn enter(
        &mut self,
        min_complete: u32,
        timeout: Option<Duration>,
    ) -> io::Result<usize> {
        self.check_alive()?;
        let n = self.ring.enter(min_complete, timeout)?;
        if !self.ring.has_unsubmitted() {
            self.ops.all_submitted();
        }
        Ok(n)
    }

    pub(crate) fn check_supported(&self, entry: &squeue::Entry) -> Result<(), PushError> {
        let code = entry.get_opcode() as u8;
        if self.info.support.has(code) {
            return Ok(());
        }
        let (op, since) = crate::probe::info(code)
            .map(|i| (i.name, i.since))
            .unwrap_or(("unknown", KernelVersion::new(99, 0, 0)));
        Err(PushError::Unsupported {
            op,
            since,
            running: self.info.kernel_version,
        })
    }

    /// Places entries in the SQ whole, submitting what is queued first when they do not fit.
    pub(crate) fn push_entries(
        &mut self,
        entries: &[squeue::Entry],
        ops: u64,
    ) -> Result<(), PushError> {
        if self.ring.room() < entries.len() {
            self.submit().map_err(PushError::Submit)?;
        }
        // SAFETY: every entry points only into memory owned by an op in `self.ops` (the
        // `OpCode` contract), and the driver keeps those ops, unmoved, until their final CQE.
        unsafe { self.ring.push(entries, ops) }
    }
}

impl<O: ?Sized + OpCode> Drop for Driver<O> {
    /// The kernel may write into memory owned by in-flight ops until their final CQE, so the
    /// order is: cancel everything, wait for every final CQE, and only then let the ops (and
    /// their buffers) drop; the ring's fd is closed after that, with the fields.
    /// If waiting fails (say, we are not on the ring's thread, or the ring died), the ops are
    /// leaked instead of freed: a leak is safe, a kernel write into freed memory is not.
    fn drop(&mut self) {
        let mut rounds = 0u32;
        while self.ops.len() > 0 && self.dead.is_none() {
            if rounds % 10 == 0 && self.cancel_all().is_err() {
                break;
            }
            rounds += 1;
            if self.wait(1, Some(Duration::from_millis(100))).is_err()
                || self.reap(|_, _| {}).is_err()
            {
                break;
            }
        }
        if self.ops.len() > 0 {
            self.ops.leak();
        }
    }
}
