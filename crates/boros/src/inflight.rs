//! The ops in flight on one ring: each boxed in a generational slab (its key is its SQE's
//! `user_data`) from its push to its final CQE, and how one CQE finds its op.

use crate::cqe::{Cqe, OpRef, CANCEL_TAG};
use crate::fixed::Tables;
use crate::groups::BufGroups;
use crate::op::{Leftover, OpCode, SlotUse};
use crate::ring::RawCqe;
use crate::slab::{OpKey, Slab};
use io_uring::cqueue;

/// One op in flight.
pub(crate) struct InFlight<O: ?Sized> {
    pub token: u64,
    pub cancelled: bool,
    /// Its owner went away ([`Driver::abandon`](crate::Driver::abandon)): its CQEs go to no
    /// sink; what they bring back is released here.
    pub abandoned: bool,
    /// The op's buffer group and file-slot use, asked once at push (the hot path reads them
    /// at every CQE).
    pub group: Option<u16>,
    slot_use: Option<SlotUse>,
    pub op: Box<O>,
}

/// `user_data` bit of the closes the driver queues itself for direct slots that CQEs of
/// abandoned ops filled (keys stay below 2^52); the low 32 bits are the slot.
pub(crate) const LEFTOVER_CLOSE_TAG: u64 = 1 << 63;

/// What CQEs of abandoned ops brought back, and the counts of it.
#[derive(Default)]
pub(crate) struct Leftovers {
    /// Direct slots to close (the driver queues their closes after the reap).
    pub slots: Vec<u32>,
    pub orphans: u64,
    pub closed: u64,
}

impl Leftovers {
    /// Releases what one CQE (`result`, `flags`) of `op`, which nobody takes, brought back: its
    /// provided buffers go back to the kernel, its descriptor is closed (a direct slot's
    /// close is queued).
    pub(crate) fn release<O: ?Sized + OpCode>(
        &mut self,
        op: &O,
        result: i32,
        flags: u32,
        groups: &BufGroups,
    ) {
        if let Some(bid) = cqueue::buffer_select(flags) {
            groups.recycle(op.buf_group(), bid, result);
        }
        match op.leftover(result) {
            Leftover::Nothing => {}
            Leftover::Fd(fd) => {
                // SAFETY: the op opened this descriptor for an owner that is gone; nobody
                // else has it.
                unsafe { libc::close(fd) };
                self.closed += 1;
            }
            Leftover::FixedSlot(slot) => {
                self.slots.push(slot);
                self.closed += 1;
            }
        }
    }
}

/// What [`Ops::dispatch`] did with a CQE.
pub(crate) enum Dispatched {
    /// A CQE of no op we know (a cancel's own CQE, a stale key): dropped.
    Nothing,
    /// A multishot op's CQE; the op stays in flight.
    Update,
    /// The op's final CQE; the op left the slab.
    Final,
    /// The final CQE of an abandoned op: it left the slab and was dropped.
    Orphan,
}

/// The slab of ops in flight, and the keys of those queued since the last successful enter.
pub(crate) struct Ops<O: ?Sized> {
    slab: Slab<InFlight<O>>,
    /// Keys of ops whose SQEs sit in the SQ, not yet taken by the kernel.
    unsubmitted: Vec<OpKey>,
    pub(crate) leftovers: Leftovers,
    /// Ops that ended with `-ENOBUFS` and are armed again by the driver at a pass's end
    /// ([`OpCode::rearm_when_starved`]), oldest first; still in the slab, under their keys.
    pub(crate) starved: std::collections::VecDeque<OpKey>,
}

impl<O: ?Sized + OpCode> Ops<O> {
    pub(crate) fn new() -> Self {
        Self {
            slab: Slab::new(),
            unsubmitted: Vec::new(),
            leftovers: Leftovers::default(),
            starved: std::collections::VecDeque::new(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.slab.len()
    }

    /// Stores an op; returns its key and its buffer group.
    pub(crate) fn insert(&mut self, op: Box<O>, token: u64) -> (OpKey, Option<u16>) {
        let group = op.buf_group();
        let key = self.slab.insert(InFlight {
            token,
            cancelled: false,
            abandoned: false,
            group,
            slot_use: op.file_slot(),
            op,
        });
        (key, group)
    }

    /// Marks every op in flight cancelled (a cancel of them all is being asked for): none of
    /// them is armed again after `-ENOBUFS` (those waiting here for buffers end with
    /// `-ECANCELED` at the next pass's end), as for a cancel by key.
    pub(crate) fn mark_all_cancelled(&mut self) {
        self.slab.for_each_mut(|op| op.cancelled = true);
    }

    pub(crate) fn get_mut(&mut self, key: OpKey) -> Option<&mut InFlight<O>> {
        self.slab.get_mut(key)
    }

    pub(crate) fn remove(&mut self, key: OpKey) -> Option<InFlight<O>> {
        self.slab.remove(key)
    }

    /// Keeps the op of a final `-ENOBUFS` CQE in flight, to be armed again at the pass's end,
    /// when it asks for that ([`OpCode::rearm_when_starved`]) and nobody cancelled or
    /// abandoned it. Returns whether it did (the CQE then goes to no sink).
    pub(crate) fn keep_starved(&mut self, cqe: &RawCqe, groups: &BufGroups) -> bool {
        if cqe.result != -libc::ENOBUFS
            || cqueue::more(cqe.flags)
            || cqe.user_data & LEFTOVER_CLOSE_TAG != 0
        {
            return false;
        }
        let key = OpKey::from_u64(cqe.user_data);
        match self.slab.get_mut(key) {
            Some(op) if !op.cancelled && !op.abandoned && op.op.rearm_when_starved() => {
                // Counted as starved as if it had ended: the pass's end grows the group.
                groups.starved(op.group);
                self.starved.push_back(key);
                true
            }
            _ => false,
        }
    }

    /// Notes that the SQE of `key` was placed in the SQ.
    pub(crate) fn queued(&mut self, key: OpKey) {
        self.unsubmitted.push(key);
    }

    /// Whether the SQE of `key` sits in the SQ (queued since the last enter that took them
    /// all). The newest last: an op asked about is most often one just queued.
    pub(crate) fn is_unsubmitted(&self, key: OpKey) -> bool {
        self.unsubmitted.iter().rev().any(|&k| k == key)
    }

    /// Notes that an enter took every SQE in the SQ.
    pub(crate) fn all_submitted(&mut self) {
        self.unsubmitted.clear();
    }

    /// Ends every op whose SQE no enter took with a final CQE of `-errno`, as the kernel would
    /// end it (see [`Driver::fail_unsubmitted`](crate::Driver::fail_unsubmitted)). Returns how
    /// many ops it ended.
    pub(crate) fn fail_unsubmitted(
        &mut self,
        errno: i32,
        groups: &BufGroups,
        fixed: &mut Tables,
        sink: &mut impl FnMut(Cqe, OpRef<'_, O>),
    ) -> usize {
        let mut failed = 0;
        for key in std::mem::take(&mut self.unsubmitted) {
            let cqe = RawCqe {
                user_data: key.as_u64(),
                result: -errno,
                flags: 0,
            };
            if let Dispatched::Final | Dispatched::Orphan = self.dispatch(cqe, groups, fixed, sink)
            {
                failed += 1;
            }
        }
        failed
    }

    /// Hands one CQE, with its op, to `sink`: `&mut` while a multishot op stays in flight, by
    /// value (out of the slab, out of its buffer group's users) at its final CQE.
    pub(crate) fn dispatch(
        &mut self,
        cqe: RawCqe,
        groups: &BufGroups,
        fixed: &mut Tables,
        sink: &mut impl FnMut(Cqe, OpRef<'_, O>),
    ) -> Dispatched {
        if cqe.user_data & LEFTOVER_CLOSE_TAG != 0 {
            if cqe.user_data != CANCEL_TAG && cqe.result >= 0 {
                // A close the driver queued for a leftover direct slot: the slot is free.
                fixed.free_file_slot(cqe.user_data as u32);
            }
            return Dispatched::Nothing;
        }
        let key = OpKey::from_u64(cqe.user_data);
        if cqueue::more(cqe.flags) {
            // One of several CQEs of a multishot op: the op stays in flight.
            let Some(op) = self.slab.get_mut(key) else {
                return Dispatched::Nothing;
            };
            if op.abandoned {
                self.leftovers
                    .release(&*op.op, cqe.result, cqe.flags, groups);
                return Dispatched::Nothing;
            }
            let c = cqe_of(key, op, cqe);
            sink(c, OpRef::Live(&mut op.op));
            return Dispatched::Update;
        }
        // A key we do not know would be a kernel bug or a stale CANCEL; never touch a slot for it.
        let Some(done) = self.slab.remove(key) else {
            return Dispatched::Nothing;
        };
        groups.track(done.group, -1);
        if cqe.result == -libc::ENOBUFS {
            // The group ran dry: the pass's end grows it (before the op is armed again).
            groups.starved(done.group);
        }
        if let Some(slot) = done.slot_use.and_then(|u| u.freed_by(cqe.result)) {
            // The file-table slot the op's final CQE left empty (see `SlotUse`).
            fixed.free_file_slot(slot);
        }
        if done.abandoned {
            self.leftovers
                .release(&*done.op, cqe.result, cqe.flags, groups);
            self.leftovers.orphans += 1;
            return Dispatched::Orphan;
        }
        let c = cqe_of(key, &done, cqe);
        sink(c, OpRef::Done(done.op));
        Dispatched::Final
    }
}

fn cqe_of<O: ?Sized + OpCode>(key: OpKey, op: &InFlight<O>, cqe: RawCqe) -> Cqe {
    Cqe {
        token: op.token,
        key,
        result: cqe.result,
        flags: cqe.flags,
        cancelled: op.cancelled,
        buffer: cqueue::buffer_select(cqe.flags).and_then(|bid| Some((op.group?, bid))),
    }
}

impl<O: ?Sized + OpCode> Ops<O> {
    /// Marks the op of `key` abandoned; false if it already completed.
    pub(crate) fn abandon(&mut self, key: OpKey) -> bool {
        match self.slab.get_mut(key) {
            Some(op) => {
                op.abandoned = true;
                true
            }
            None => false,
        }
    }

    /// Releases what a CQE of the op of `key` (still in flight) brought back, for a CQE its
    /// host got and nobody takes. False if the op is no longer in flight.
    pub(crate) fn release_live(
        &mut self,
        key: OpKey,
        result: i32,
        flags: u32,
        groups: &BufGroups,
    ) -> bool {
        match self.slab.get_mut(key) {
            Some(op) => {
                self.leftovers.release(&*op.op, result, flags, groups);
                true
            }
            None => false,
        }
    }
}

impl<O: ?Sized> Ops<O> {
    /// Forgets every op still in flight: their memory stays allocated for good, because the
    /// kernel may still write into it and nobody can wait for its final CQE any more.
    pub(crate) fn leak(&mut self) {
        std::mem::forget(std::mem::take(&mut self.slab));
        self.unsubmitted.clear();
    }
}
