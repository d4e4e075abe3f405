//! Reaping: every completion that is ready goes to the op it belongs to (or to its host's
//! `Complete` step), and the work a reap leaves done (pending releases, the closes of leftover
//! direct slots, retired buffer groups). Calls on a [`Driver`], kept out of `driver.rs`
//! (push, submit, the ring's state); CQE to op is `inflight.rs`.

use crate::complete::{finish_into, Complete};
use crate::cqe::{Cqe, OpRef};
use crate::driver::Driver;
use crate::inflight::Dispatched;
use crate::op::OpCode;
use crate::ring::{RawCqe, REAP_CHUNK};
use std::io;

/// Most passes (enter, drain) one `reap` makes before it returns (see `reap`).
const MAX_REAP_PASSES: u32 = 64;
/// Most passes in a row that produce no CQE before `reap` returns (see `reap`).
const MAX_IDLE_PASSES: u32 = 4;

impl<O: ?Sized + OpCode> Driver<O> {
    /// Delivers every completion that is ready, each with its op: `&mut` while a multishot op
    /// stays in flight ([`OpRef::Live`], its update step), by value at its final CQE
    /// ([`OpRef::Done`]). This is how an op finishes itself: the host calls the op's own
    /// completion logic, no downcast needed ([`completions`](crate::completions) adapts a
    /// sink of [`Completion`](crate::Completion)s instead).
    ///
    /// It enters the kernel only when needed: entries are queued, deferred completion work is
    /// pending (`IORING_SQ_TASKRUN`), or the CQ overflowed. It keeps going while the kernel
    /// says more is pending, past the kernel's 20-items-per-call limit on deferred work.
    /// `sink` must not touch the driver.
    pub fn reap(&mut self, sink: impl FnMut(Cqe, OpRef<'_, O>)) -> io::Result<usize> {
        self.reap_with(sink, true)
    }

    /// As [`reap_into`](Self::reap_into), but never enters: only completions already posted
    /// (or moved aside). For a loop that just returned from [`wait`](Self::wait) and blocks
    /// only there: its next `wait` submits and runs the deferred work in one enter.
    pub fn reap_posted_into<H: ?Sized>(&mut self, host: &mut H) -> io::Result<usize>
    where
        O: Complete<H>,
    {
        self.reap_with(finish_into(host), false)
    }

    fn reap_with(
        &mut self,
        mut sink: impl FnMut(Cqe, OpRef<'_, O>),
        may_enter: bool,
    ) -> io::Result<usize> {
        let mut delivered = 0;
        let mut passes = 0;
        let mut idle = 0;
        loop {
            // CQEs an earlier enter moved aside (CQ full, EBUSY) come first, in order.
            while let Some(cqe) = self.ring.pop_backlog() {
                delivered += self.dispatch(cqe, &mut sink);
            }
            if may_enter
                && self.dead.is_none()
                && (self.ring.has_unsubmitted() || self.ring.kernel_pending())
            {
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
            let more = may_enter
                && self.dead.is_none()
                && passes < MAX_REAP_PASSES
                && idle < MAX_IDLE_PASSES
                && self.ring.kernel_pending();
            if !more && self.ring.backlog_len() == 0 {
                self.apply_releases();
                if !self.ops.leftovers.slots.is_empty() && self.dead.is_none() {
                    self.close_leftover_slots();
                }
                if self.groups.has_retiring() {
                    self.groups.retire(&self.ring.uring.submitter());
                }
                return Ok(delivered);
            }
        }
    }

    /// As [`reap`](Self::reap), each CQE going to its op's own step with `host` as context
    /// ([`Complete`](crate::Complete): `update` while a multishot op stays in flight,
    /// `complete` at the final CQE).
    pub fn reap_into<H: ?Sized>(&mut self, host: &mut H) -> io::Result<usize>
    where
        O: Complete<H>,
    {
        self.reap(finish_into(host))
    }

    fn drain(&mut self, sink: &mut impl FnMut(Cqe, OpRef<'_, O>)) -> usize {
        let mut raw = [RawCqe::default(); REAP_CHUNK];
        let mut delivered = 0;
        loop {
            // Copy a chunk out of the ring first: dispatching needs `&mut self`.
            let n = self.ring.fill(&mut raw);
            for cqe in &raw[..n] {
                delivered += self.dispatch(*cqe, sink);
            }
            if n < REAP_CHUNK {
                self.groups.end_pass();
                self.rearm_starved(sink);
                return delivered;
            }
        }
    }

    /// Queues again the ops that ended with `-ENOBUFS` and asked to be armed again
    /// ([`OpCode::rearm_when_starved`]), under their keys: after the pass's end grew the group,
    /// and after the pass's buffers went back to it. Oldest first, and per group only as many
    /// as it has buffers in circulation: with more busy sockets than buffers, the rest would
    /// find it empty again at once (a CQE, an entry and a failed receive each, every pass); they
    /// wait here, still in flight, for a later pass's end. They are submitted at once, without
    /// asking for completions: the kernel arms them before the host's batch runs. Otherwise
    /// they went in with the next enter, behind the deferred work of the receives still armed,
    /// whose next data the batch's replies brought in the meantime: those took the buffers,
    /// every re-armed receive found the group empty again and went back to the end of the
    /// line, and a bounded group served some connections 4x as often as others (docs/net.md,
    /// "Bounds on receive memory with the driver's re-arm"). Their data reach the host with
    /// this reap if it enters again, or the next. One cancelled or abandoned while it waited
    /// gets its final CQE (`-ECANCELED`), as does one the SQ cannot take (a dead ring:
    /// `-ENOBUFS`).
    fn rearm_starved(&mut self, sink: &mut impl FnMut(Cqe, OpRef<'_, O>)) {
        if self.ops.starved.is_empty() {
            return;
        }
        let mut room: Vec<(u16, u32)> = Vec::new();
        let mut waiting = std::collections::VecDeque::new();
        let mut rearmed = false;
        while let Some(key) = self.ops.starved.pop_front() {
            let Some(op) = self.ops.get_mut(key) else {
                continue;
            };
            let (cancelled, group) = (op.cancelled || op.abandoned, op.group);
            let mut result = -libc::ECANCELED;
            if !cancelled {
                result = -libc::ENOBUFS;
                if let Some(g) = group {
                    if !room.iter().any(|(b, _)| *b == g) {
                        // At least one a pass: a waiting op's only way out is a pass's end.
                        room.push((g, self.groups.circulating(g).max(1)));
                    }
                    if room.iter().any(|&(b, n)| b == g && n == 0) {
                        waiting.push_back(key);
                        continue;
                    }
                }
                let op = self.ops.get_mut(key).expect("in the slab");
                let entry = op.op.entry().user_data(key.as_u64());
                if self.dead.is_none() && self.push_entries(std::slice::from_ref(&entry), 1).is_ok()
                {
                    self.ops.queued(key);
                    rearmed = true;
                    if let Some(g) = group {
                        if let Some((_, n)) = room.iter_mut().find(|(b, _)| *b == g) {
                            *n -= 1;
                        }
                    }
                    continue;
                }
            }
            let cqe = RawCqe {
                user_data: key.as_u64(),
                result,
                flags: 0,
            };
            if let Dispatched::Final = self.ops.dispatch(cqe, &self.groups, &mut self.fixed, sink) {
                self.ring.stats.ops_completed += 1;
            }
        }
        self.ops.starved = waiting;
        if rearmed && self.dead.is_none() && self.ring.submit_now() {
            self.ops.all_submitted();
        }
    }

    fn dispatch(&mut self, cqe: RawCqe, sink: &mut impl FnMut(Cqe, OpRef<'_, O>)) -> usize {
        if self.ops.keep_starved(&cqe, &self.groups) {
            return 0;
        }
        match self.ops.dispatch(cqe, &self.groups, &mut self.fixed, sink) {
            Dispatched::Nothing => 0,
            Dispatched::Update => 1,
            Dispatched::Final => {
                self.ring.stats.ops_completed += 1;
                1
            }
            Dispatched::Orphan => {
                self.ring.stats.ops_completed += 1;
                0
            }
        }
    }
}
