//! The ops in flight on one ring: each boxed in a generational slab (its key is its SQE's
//! `user_data`) from its push to its final CQE, and how one CQE finds its op.

use crate::cqe::{Cqe, OpRef, CANCEL_TAG};
use crate::fixed::Tables;
use crate::groups::BufGroups;
use crate::op::OpCode;
use crate::ring::RawCqe;
use crate::slab::{OpKey, Slab};
use io_uring::cqueue;

/// One op in flight.
pub(crate) struct InFlight<O: ?Sized> {
    pub token: u64,
    pub cancelled: bool,
    pub op: Box<O>,
}

/// What [`Ops::dispatch`] did with a CQE.
pub(crate) enum Dispatched {
    /// A CQE of no op we know (a cancel's own CQE, a stale key): dropped.
    Nothing,
    /// A multishot op's CQE; the op stays in flight.
    Update,
    /// The op's final CQE; the op left the slab.
    Final,
}

/// The slab of ops in flight, and the keys of those queued since the last successful enter.
pub(crate) struct Ops<O: ?Sized> {
    slab: Slab<InFlight<O>>,
    /// Keys of ops whose SQEs sit in the SQ, not yet taken by the kernel.
    unsubmitted: Vec<OpKey>,
}

impl<O: ?Sized + OpCode> Ops<O> {
    pub(crate) fn new() -> Self {
        Self {
            slab: Slab::new(),
            unsubmitted: Vec::new(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.slab.len()
    }

    pub(crate) fn insert(&mut self, op: Box<O>, token: u64) -> OpKey {
        self.slab.insert(InFlight {
            token,
            cancelled: false,
            op,
        })
    }

    pub(crate) fn get_mut(&mut self, key: OpKey) -> Option<&mut InFlight<O>> {
        self.slab.get_mut(key)
    }

    pub(crate) fn remove(&mut self, key: OpKey) -> Option<InFlight<O>> {
        self.slab.remove(key)
    }

    /// Notes that the SQE of `key` was placed in the SQ.
    pub(crate) fn queued(&mut self, key: OpKey) {
        self.unsubmitted.push(key);
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
            if let Dispatched::Final = self.dispatch(cqe, groups, fixed, sink) {
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
        if cqe.user_data == CANCEL_TAG {
            return Dispatched::Nothing;
        }
        let key = OpKey::from_u64(cqe.user_data);
        if cqueue::more(cqe.flags) {
            // One of several CQEs of a multishot op: the op stays in flight.
            let Some(op) = self.slab.get_mut(key) else {
                return Dispatched::Nothing;
            };
            let c = cqe_of(key, op, cqe);
            sink(c, OpRef::Live(&mut op.op));
            return Dispatched::Update;
        }
        // A key we do not know would be a kernel bug or a stale CANCEL; never touch a slot for it.
        let Some(done) = self.slab.remove(key) else {
            return Dispatched::Nothing;
        };
        groups.track(done.op.buf_group(), -1);
        release_slot(&*done.op, cqe.result, fixed);
        let c = cqe_of(key, &done, cqe);
        sink(c, OpRef::Done(done.op));
        Dispatched::Final
    }
}

/// Frees the file-table slot an op's final CQE left empty (see [`SlotUse`](crate::op::SlotUse)).
fn release_slot<O: ?Sized + OpCode>(op: &O, result: i32, fixed: &mut Tables) {
    if let Some(slot) = op.file_slot().and_then(|u| u.freed_by(result)) {
        fixed.free_file_slot(slot);
    }
}

fn cqe_of<O: ?Sized + OpCode>(key: OpKey, op: &InFlight<O>, cqe: RawCqe) -> Cqe {
    Cqe {
        token: op.token,
        key,
        result: cqe.result,
        flags: cqe.flags,
        cancelled: op.cancelled,
        buffer: cqueue::buffer_select(cqe.flags).and_then(|bid| Some((op.op.buf_group()?, bid))),
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
