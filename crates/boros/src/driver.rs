//! The driver: push -> submit -> reap, for one ring on one thread.
//!
//! A host loop drives it in three phases:
//! 1. run whatever is ready; each step may [`push`](Driver::push) operations (no syscall);
//! 2. when nothing is left to run, [`submit`](Driver::submit) everything queued in one
//!    `io_uring_enter` (a host that blocks elsewhere, like libuv, watches [`eventfd`](Driver::eventfd));
//!    a host that blocks on the ring itself calls [`wait`](Driver::wait);
//! 3. [`reap`](Driver::reap) all completions and wake whoever waits on them.

use crate::bufring::BufRing;
use crate::error::{cqe_result, PushError, SetupError};
use crate::op::OpCode;
use crate::setup::{self, Config, RingInfo};
use crate::slab::{OpKey, Slab};
use io_uring::{cqueue, opcode, squeue, types, IoUring};
use std::any::Any;
use std::collections::VecDeque;
use std::marker::PhantomData;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::rc::Rc;
use std::time::Duration;
use std::{io, mem};

/// `user_data` of the `ASYNC_CANCEL` entries the driver queues itself; their CQEs are dropped.
pub const CANCEL_TAG: u64 = u64::MAX;

/// Most passes (enter, drain) one `reap` makes before it returns (see `reap_ops`).
const MAX_REAP_PASSES: u32 = 64;
/// Most passes in a row that produce no CQE before `reap` returns (see `reap_ops`).
const MAX_IDLE_PASSES: u32 = 4;

/// How many CQEs are copied out of the ring per pass.
const REAP_CHUNK: usize = 256;

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
}

/// One reaped CQE, as the driver saw it: which op, its result and flags.
#[derive(Debug, Clone, Copy)]
pub struct Cqe {
    /// The token given to [`Driver::push`].
    pub token: u64,
    /// The op's key.
    pub key: OpKey,
    /// The CQE's `res`: a count or descriptor, or `-errno`.
    pub result: i32,
    /// The CQE's flags.
    pub flags: u32,
    /// Whether [`Driver::cancel`] was called for this op.
    pub cancelled: bool,
    /// `(group, buffer id)` when the kernel picked a provided buffer for this CQE.
    pub buffer: Option<(u16, u16)>,
}

impl Cqe {
    /// `result` as an `io::Result`.
    pub fn result(&self) -> io::Result<u32> {
        cqe_result(self.result)
    }

    /// Whether the op posts more CQEs after this one (`IORING_CQE_F_MORE`).
    pub fn has_more(&self) -> bool {
        cqueue::more(self.flags)
    }

    /// The provided buffer the kernel filled for this CQE (`IORING_CQE_F_BUFFER`), if any.
    pub fn buffer_id(&self) -> Option<u16> {
        self.buffer.map(|(_, bid)| bid)
    }
}

/// The op a CQE belongs to, as [`Driver::reap_ops`] hands it over.
pub enum OpRef<'a, O: ?Sized> {
    /// One of several CQEs of a multishot op (`IORING_CQE_F_MORE`): the op stays in flight,
    /// owned by the driver; this is its `update` step.
    Live(&'a mut O),
    /// The op's final CQE: the op is the caller's now, buffers and all, and the kernel will
    /// never touch its memory again.
    Done(Box<O>),
}

/// A reaped completion. For the final CQE of an op, it carries the op back, buffers and all.
pub struct Completion<O: ?Sized + OpCode = dyn OpCode> {
    /// The token given to [`Driver::push`].
    pub token: u64,
    /// The op's key.
    pub key: OpKey,
    /// The CQE's `res`: a count or descriptor, or `-errno`.
    pub result: i32,
    /// The CQE's flags.
    pub flags: u32,
    /// Whether [`Driver::cancel`] was called for this op.
    pub cancelled: bool,
    /// `(group, buffer id)` when the kernel picked a provided buffer for this CQE.
    pub(crate) buffer: Option<(u16, u16)>,
    op: Option<Box<O>>,
}

impl<O: ?Sized + OpCode> Completion<O> {
    /// `result` as an `io::Result`.
    pub fn result(&self) -> io::Result<u32> {
        cqe_result(self.result)
    }

    /// Whether this is the op's last CQE (multishot ops post several).
    pub fn is_final(&self) -> bool {
        self.op.is_some()
    }

    /// The provided buffer the kernel filled for this CQE (`IORING_CQE_F_BUFFER`), if any.
    /// Lease it from its [`BufRing`] with [`BufRing::lease`].
    pub fn buffer_id(&self) -> Option<u16> {
        self.buffer.map(|(_, bid)| bid)
    }

    /// Whether the op posts more CQEs after this one (`IORING_CQE_F_MORE`).
    pub fn has_more(&self) -> bool {
        cqueue::more(self.flags)
    }

    /// Takes the op back (only from the final CQE).
    pub fn into_op(self) -> Option<Box<O>> {
        self.op
    }
}

impl Completion<dyn OpCode> {
    /// Takes the op back as its concrete type, to recover its buffers or results.
    pub fn take_op<T: OpCode>(&mut self) -> Option<Box<T>> {
        let op: Box<dyn Any> = self.op.take()?;
        op.downcast().ok()
    }
}

struct InFlight<O: ?Sized> {
    token: u64,
    cancelled: bool,
    op: Box<O>,
}

#[derive(Clone, Copy)]
struct RawCqe {
    user_data: u64,
    result: i32,
    flags: u32,
}

/// One io_uring and the operations in flight on it. Not `Send`: with `SINGLE_ISSUER`, only
/// the thread that owns the ring may submit to it.
///
/// `O` is the type ops are stored as until their final CQE: `dyn OpCode` by default (ops
/// come back through [`Completion::take_op`]), or a host's own trait object (say
/// `dyn NodeOp: OpCode`, whose ops finish themselves) built with [`Driver::build`].
pub struct Driver<O: ?Sized + OpCode = dyn OpCode> {
    pub(crate) ring: IoUring,
    /// Registered buffer and file tables (see [`crate::fixed`]).
    pub(crate) fixed: crate::fixed::Tables,
    ops: Slab<InFlight<O>>,
    /// CQEs moved out of a full CQ so a submit could go on; delivered first by `reap`.
    backlog: VecDeque<RawCqe>,
    eventfd: OwnedFd,
    info: RingInfo,
    stats: Stats,
    /// User operations queued in the SQ since the last enter.
    queued_ops: u64,
    /// Registered provided-buffer groups.
    buf_rings: Vec<Rc<BufRing>>,
    /// Groups being unregistered: removed from the kernel once no op in flight uses them.
    retiring: Vec<Rc<BufRing>>,
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
        Self::build_with_task_run(config, crate::TaskRun::Defer)
    }

    /// As [`Driver::build`], choosing when the kernel runs completion work (see
    /// [`TaskRun`](crate::TaskRun): a host that sleeps in its own poller wants `Coop`).
    pub fn build_with_task_run(
        config: &Config,
        task_run: crate::TaskRun,
    ) -> Result<Self, SetupError> {
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
            ring,
            fixed: crate::fixed::Tables::default(),
            ops: Slab::new(),
            backlog: VecDeque::new(),
            eventfd,
            info,
            stats: Stats::default(),
            queued_ops: 0,
            buf_rings: Vec::new(),
            retiring: Vec::new(),
            _not_send: PhantomData,
        })
    }

    /// What was set up: kernel, flags, queue sizes, supported opcodes.
    pub fn info(&self) -> &RingInfo {
        &self.info
    }

    /// The counters.
    pub fn stats(&self) -> Stats {
        Stats {
            in_flight: self.ops.len() as u64,
            ..self.stats
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

    /// Whether entries are queued that no `io_uring_enter` has submitted yet.
    pub fn has_unsubmitted(&mut self) -> bool {
        !self.ring.submission().is_empty()
    }

    /// Whether completions are waiting to be reaped (CQEs in the ring or the backlog, deferred
    /// completion work, or an overflowed CQ). Checked after clearing the eventfd, so that no
    /// wake-up is lost between the last reap and the clear.
    pub fn has_ready(&mut self) -> bool {
        if !self.backlog.is_empty() {
            return true;
        }
        let pending = {
            let sq = self.ring.submission();
            sq.taskrun() || sq.cq_overflow()
        };
        pending || !self.ring.completion().is_empty()
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

    /// Makes the eventfd readable, so a host loop watching it wakes up (for results the host
    /// produced itself, without a CQE).
    pub fn signal_eventfd(&self) {
        let v: u64 = 1;
        // SAFETY: writes 8 bytes from a local u64 to our eventfd; failure (counter overflow) is
        // harmless because the fd is then readable anyway.
        unsafe { libc::write(self.eventfd.as_raw_fd(), (&v as *const u64).cast(), 8) };
    }

    /// Queues an operation; no syscall unless the SQ is full (then the queued batch is submitted
    /// first). `token` comes back in its [`Completion`].
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
        let key = self.ops.insert(InFlight {
            token,
            cancelled: false,
            op,
        });
        let entry = self.entry_for(key, flags);
        if let Err(e) = self
            .check_supported(&entry)
            .and_then(|_| self.push_entries(&[entry]))
        {
            self.ops.remove(key);
            return Err(e);
        }
        self.track_group(key, 1);
        self.queued_ops += 1;
        Ok(key)
    }

    /// Queues operations as one linked chain (`IOSQE_IO_LINK`): each starts only after the one
    /// before it succeeded; a failure cancels the rest (they complete with `-ECANCELED`).
    /// The chain is placed in the SQ whole, never split across two submits.
    pub fn push_chain(&mut self, ops: Vec<(Box<O>, u64)>) -> Result<Vec<OpKey>, PushError> {
        let n = ops.len();
        let ops = ops
            .into_iter()
            .enumerate()
            .map(|(i, (op, token))| {
                let link = if i + 1 < n {
                    squeue::Flags::IO_LINK
                } else {
                    squeue::Flags::empty()
                };
                (op, token, link)
            })
            .collect();
        self.push_linked(ops)
    }

    /// Queues operations together with the SQE flags of each (`IO_LINK`, `IO_HARDLINK`...):
    /// a chain whose links are chosen per op, for example open -> read (`IO_LINK`: runs only
    /// if the open succeeded) -> close (`IO_HARDLINK` on the read: runs even after a short or
    /// failed read). Placed in the SQ whole, never split across two submits.
    pub fn push_linked(
        &mut self,
        ops: Vec<(Box<O>, u64, squeue::Flags)>,
    ) -> Result<Vec<OpKey>, PushError> {
        let n = ops.len();
        let mut keys = Vec::with_capacity(n);
        let mut entries = Vec::with_capacity(n);
        for (op, token, flags) in ops {
            let key = self.ops.insert(InFlight {
                token,
                cancelled: false,
                op,
            });
            entries.push(self.entry_for(key, flags));
            keys.push(key);
        }
        let pushed = entries
            .iter()
            .try_for_each(|e| self.check_supported(e))
            .and_then(|_| self.push_entries(&entries));
        if let Err(e) = pushed {
            for key in keys {
                self.ops.remove(key);
            }
            return Err(e);
        }
        for &key in &keys {
            self.track_group(key, 1);
        }
        self.queued_ops += n as u64;
        Ok(keys)
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
            self.push_entries(&[entry])?;
        }
        Ok(true)
    }

    /// Asks the kernel to cancel every op in flight.
    pub fn cancel_all(&mut self) -> Result<(), PushError> {
        let entry = opcode::AsyncCancel2::new(types::CancelBuilder::any())
            .build()
            .user_data(CANCEL_TAG);
        self.push_entries(&[entry])
    }

    /// Submits everything queued in one `io_uring_enter` (with `GETEVENTS`, so deferred
    /// completion work runs in the same call). Returns how many entries the kernel took.
    /// This is the `flush()` an external event loop calls just before it blocks.
    pub fn submit(&mut self) -> io::Result<usize> {
        if self.ring.submission().is_empty() {
            return Ok(0);
        }
        self.enter(0, None)
    }

    /// Submits what is queued and blocks until `min_complete` CQEs are ready or `timeout` passes.
    pub fn wait(&mut self, min_complete: u32, timeout: Option<Duration>) -> io::Result<()> {
        // Completions already moved to the backlog count: do not block waiting for them.
        let min_complete = min_complete.saturating_sub(self.backlog.len() as u32);
        if min_complete == 0 && !self.backlog.is_empty() {
            return self.enter(0, None).map(|_| ());
        }
        self.enter(min_complete, timeout).map(|_| ())
    }

    /// Delivers every completion that is ready, entering the kernel only when needed: entries
    /// are queued, deferred completion work is pending (`IORING_SQ_TASKRUN`), or the CQ
    /// overflowed. It keeps going while the kernel says more is pending, past the kernel's
    /// 20-items-per-call limit on deferred work. `sink` must not touch the driver.
    pub fn reap(&mut self, mut sink: impl FnMut(Completion<O>)) -> io::Result<usize> {
        self.reap_ops(|cqe, op| {
            let op = match op {
                OpRef::Live(_) => None,
                OpRef::Done(op) => Some(op),
            };
            sink(Completion {
                token: cqe.token,
                key: cqe.key,
                result: cqe.result,
                flags: cqe.flags,
                cancelled: cqe.cancelled,
                buffer: cqe.buffer,
                op,
            })
        })
    }

    /// As [`reap`](Self::reap), handing each CQE with its op: `&mut` while a multishot op stays
    /// in flight ([`OpRef::Live`]), by value at its final CQE ([`OpRef::Done`]). This is how an
    /// op finishes itself: the host calls the op's own completion logic, no downcast needed.
    pub fn reap_ops(&mut self, mut sink: impl FnMut(Cqe, OpRef<'_, O>)) -> io::Result<usize> {
        let mut delivered = 0;
        let mut passes = 0;
        let mut idle = 0;
        loop {
            // CQEs an earlier enter moved aside (CQ full, EBUSY) come first, in order.
            while let Some(cqe) = self.backlog.pop_front() {
                delivered += self.dispatch(cqe, &mut sink);
            }
            let needs_enter = {
                let sq = self.ring.submission();
                !sq.is_empty() || sq.taskrun() || sq.cq_overflow()
            };
            if needs_enter {
                self.enter(0, None)?;
            }
            let got = self.drain(&mut sink);
            delivered += got;
            passes += 1;
            idle = if got == 0 { idle + 1 } else { 0 };
            // Go on while the kernel says more is pending (deferred work that an enter runs,
            // an overflowed CQ), but not forever, for two reasons seen here:
            // - under steady socket traffic each pass lets the kernel run more deferred work,
            //   which sets IORING_SQ_TASKRUN again: the loop never returned, and the caller,
            //   starved of its completions, recycled no buffers and queued no sends (the echo
            //   example stalled); so at most `MAX_REAP_PASSES` passes per call;
            // - the flag was seen staying set with nothing left to run (~1M enters a second);
            //   so at most `MAX_IDLE_PASSES` passes in a row that produce nothing. That is not
            //   always "nothing to do": a pipe read at EOF was seen needing ~60 passes, its poll
            //   task work requeueing itself (the kernel's fairness cap on retries) before it
            //   completed. So a caller must not take "returned with TASKRUN set" as idle: it
            //   comes back soon (`has_ready` says so; the binding re-signals its eventfd).
            let more = passes < MAX_REAP_PASSES && idle < MAX_IDLE_PASSES && {
                let sq = self.ring.submission();
                sq.taskrun() || sq.cq_overflow()
            };
            if !more && self.backlog.is_empty() {
                if !self.retiring.is_empty() {
                    self.retire();
                }
                return Ok(delivered);
            }
        }
    }

    fn drain(&mut self, sink: &mut impl FnMut(Cqe, OpRef<'_, O>)) -> usize {
        let mut entries: [mem::MaybeUninit<cqueue::Entry>; REAP_CHUNK] =
            [const { mem::MaybeUninit::uninit() }; REAP_CHUNK];
        let mut raw = [RawCqe {
            user_data: 0,
            result: 0,
            flags: 0,
        }; REAP_CHUNK];
        let mut delivered = 0;
        loop {
            // Copy a chunk out of the ring first: dispatching needs `&mut self`.
            let n = {
                let mut cq = self.ring.completion();
                let got = cq.fill(&mut entries);
                for (r, e) in raw.iter_mut().zip(got.iter()) {
                    *r = RawCqe {
                        user_data: e.user_data(),
                        result: e.result(),
                        flags: e.flags(),
                    };
                }
                got.len()
            };
            for cqe in &raw[..n] {
                delivered += self.dispatch(*cqe, sink);
            }
            if n < REAP_CHUNK {
                return delivered;
            }
        }
    }

    fn dispatch(&mut self, cqe: RawCqe, sink: &mut impl FnMut(Cqe, OpRef<'_, O>)) -> usize {
        if cqe.user_data == CANCEL_TAG {
            return 0;
        }
        let key = OpKey::from_u64(cqe.user_data);
        if cqueue::more(cqe.flags) {
            // One of several CQEs of a multishot op: the op stays in flight.
            let Some(op) = self.ops.get_mut(key) else {
                return 0;
            };
            let buffer = buffer_of(&*op.op, cqe.flags);
            let c = Cqe {
                token: op.token,
                key,
                result: cqe.result,
                flags: cqe.flags,
                cancelled: op.cancelled,
                buffer,
            };
            sink(c, OpRef::Live(&mut op.op));
            return 1;
        }
        // A key we do not know would be a kernel bug or a stale CANCEL; never touch a slot for it.
        self.track_group(key, -1);
        let Some(done) = self.ops.remove(key) else {
            return 0;
        };
        self.stats.ops_completed += 1;
        let buffer = buffer_of(&*done.op, cqe.flags);
        let c = Cqe {
            token: done.token,
            key,
            result: cqe.result,
            flags: cqe.flags,
            cancelled: done.cancelled,
            buffer,
        };
        sink(c, OpRef::Done(done.op));
        1
    }

    /// Registers a group of `entries` provided buffers of `size` bytes each (Linux 5.19,
    /// `IORING_REGISTER_PBUF_RING`). `entries` must be a power of two up to 32768. Ops that
    /// select buffers from it (see [`op::ReadMulti`](crate::op::ReadMulti)) take an `Rc` of it.
    pub fn register_buf_ring(&mut self, entries: u16, size: u32) -> io::Result<Rc<BufRing>> {
        let used = |id: u16| {
            self.buf_rings
                .iter()
                .chain(&self.retiring)
                .any(|r| r.bgid() == id)
        };
        let bgid = (0..u16::MAX)
            .find(|&id| !used(id))
            .ok_or_else(|| io::Error::from_raw_os_error(libc::ENOSPC))?;
        let ring = Rc::new(BufRing::new(bgid, entries, size)?);
        // SAFETY: the ring mapping is owned by `ring`, which the driver keeps (in
        // `buf_rings`, then `retiring`) until the group is unregistered, and every op using
        // the group holds an `Rc` of it until its final CQE.
        unsafe {
            self.ring.submitter().register_buf_ring_with_flags(
                ring.ring_addr(),
                entries,
                bgid,
                0,
            )?;
        }
        self.buf_rings.push(ring.clone());
        Ok(ring)
    }

    /// Unregisters a group. Done at once when no op in flight uses it, otherwise after the
    /// final CQE of the last op that does (cancel those ops to make it soon). The memory is
    /// freed when the last `Rc` of the group goes.
    pub fn unregister_buf_ring(&mut self, ring: &Rc<BufRing>) {
        if let Some(i) = self.buf_rings.iter().position(|r| Rc::ptr_eq(r, ring)) {
            self.retiring.push(self.buf_rings.swap_remove(i));
            self.retire();
        }
    }

    /// Registered groups, including those waiting to be unregistered.
    pub fn buf_rings(&self) -> usize {
        self.buf_rings.len() + self.retiring.len()
    }

    /// Counts the op `key` in (or out of) the users of the buffer group it selects from.
    fn track_group(&mut self, key: OpKey, delta: i32) {
        let Some(bgid) = self.ops.get_mut(key).and_then(|op| op.op.buf_group()) else {
            return;
        };
        if let Some(r) = self
            .buf_rings
            .iter()
            .chain(&self.retiring)
            .find(|r| r.bgid() == bgid)
        {
            r.add_user(delta);
        }
    }

    fn retire(&mut self) {
        let submitter = self.ring.submitter();
        self.retiring.retain(|r| {
            if r.users() > 0 {
                return true;
            }
            if let Err(e) = submitter.unregister_buf_ring(r.bgid()) {
                // Nothing uses it; the ring's close frees the kernel side anyway.
                eprintln!("boros: unregistering buffer group {} failed: {e}", r.bgid());
            }
            r.set_unregistered();
            false
        });
    }

    fn entry_for(&mut self, key: OpKey, flags: squeue::Flags) -> squeue::Entry {
        let op = self.ops.get_mut(key).expect("just inserted");
        op.op.entry().flags(flags).user_data(key.as_u64())
    }

    fn check_supported(&self, entry: &squeue::Entry) -> Result<(), PushError> {
        let code = entry.get_opcode() as u8;
        if self.info.support.has(code) {
            return Ok(());
        }
        let (op, since) = crate::probe::info(code)
            .map(|i| (i.name, i.since))
            .unwrap_or(("unknown", crate::KernelVersion::new(99, 0, 0)));
        Err(PushError::Unsupported {
            op,
            since,
            running: self.info.kernel_version,
        })
    }

    fn push_entries(&mut self, entries: &[squeue::Entry]) -> Result<(), PushError> {
        let capacity = self.ring.submission().capacity();
        assert!(
            entries.len() <= capacity,
            "chain longer than the submission queue"
        );
        if capacity - self.ring.submission().len() < entries.len() {
            self.submit().map_err(PushError::Submit)?;
        }
        // SAFETY: every entry points only into memory owned by an op in `self.ops` (the
        // `OpCode` contract), and the driver keeps those ops, unmoved, until their final CQE.
        unsafe { self.ring.submission().push_multiple(entries) }
            .map_err(|_| PushError::Submit(io::Error::from_raw_os_error(libc::EBUSY)))
    }

    /// One `io_uring_enter(GETEVENTS)`, submitting whatever is queued, retried on EINTR; on
    /// EBUSY/EAGAIN (CQ full) the CQ is moved aside into the backlog and the enter retried.
    fn enter(&mut self, min_complete: u32, timeout: Option<Duration>) -> io::Result<usize> {
        loop {
            let to_submit = self.ring.submission().len() as u32;
            self.stats.enter_calls += 1;
            let result = match timeout {
                None => {
                    // SAFETY: no extended argument is passed; `to_submit` is what we queued.
                    unsafe {
                        self.ring.submitter().enter::<libc::sigset_t>(
                            to_submit,
                            min_complete,
                            io_uring::EnterFlags::GETEVENTS.bits(),
                            None,
                        )
                    }
                }
                Some(t) => {
                    let ts = types::Timespec::from(t);
                    let args = types::SubmitArgs::new().timespec(&ts);
                    self.ring
                        .submitter()
                        .submit_with_args(min_complete.max(1) as usize, &args)
                }
            };
            match result {
                Ok(n) => {
                    if to_submit > 0 {
                        self.stats.batches += 1;
                        self.stats.ops_submitted += self.queued_ops;
                        self.queued_ops = 0;
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

    fn move_cq_to_backlog(&mut self) -> usize {
        let mut cq = self.ring.completion();
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

/// The `(group, buffer id)` a CQE carries, if the kernel picked a provided buffer for it.
fn buffer_of<O: ?Sized + OpCode>(op: &O, flags: u32) -> Option<(u16, u16)> {
    let bid = cqueue::buffer_select(flags)?;
    Some((op.buf_group()?, bid))
}

impl<O: ?Sized + OpCode> Drop for Driver<O> {
    /// The kernel may write into memory owned by in-flight ops until their final CQE, so the
    /// order is: cancel everything, wait for every final CQE, and only then let the ops (and
    /// their buffers) drop; the ring's fd is closed after that, with the fields.
    /// If waiting fails (say, we are not on the ring's thread), the ops are leaked instead of
    /// freed: a leak is safe, a kernel write into freed memory is not.
    fn drop(&mut self) {
        let mut rounds = 0u32;
        while self.ops.len() > 0 {
            if rounds % 10 == 0 && self.cancel_all().is_err() {
                break;
            }
            rounds += 1;
            if self.wait(1, Some(Duration::from_millis(100))).is_err() || self.reap(|_| {}).is_err()
            {
                break;
            }
        }
        if self.ops.len() > 0 {
            mem::forget(mem::replace(&mut self.ops, Slab::new()));
        }
    }
}
