//! What a reap hands over: the CQE as the driver saw it ([`Cqe`]), the op it belongs to
//! ([`OpRef`]), and, for hosts that take ops back by type, both in one value ([`Completion`]).

use crate::bufring::Selected;
use crate::error::cqe_result;
use crate::op::OpCode;
use crate::slab::OpKey;
use io_uring::cqueue;
use std::any::Any;
use std::io;

/// `user_data` of the `ASYNC_CANCEL` entries the driver queues itself; their CQEs are dropped.
pub const CANCEL_TAG: u64 = u64::MAX;

/// One reaped CQE, as the driver saw it: which op, its result and flags.
#[derive(Debug, Clone, Copy)]
pub struct Cqe {
    /// The token given to [`Driver::push`](crate::Driver::push).
    pub token: u64,
    /// The op's key.
    pub key: OpKey,
    /// The CQE's `res`: a count or descriptor, or `-errno`.
    pub result: i32,
    /// The CQE's flags.
    pub flags: u32,
    /// Whether [`Driver::cancel`](crate::Driver::cancel) was called for this op.
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

impl Selected for Cqe {
    fn selected(&self) -> (Option<(u16, u16)>, i32) {
        (self.buffer, self.result)
    }
}

/// The op a CQE belongs to, as [`Driver::reap`](crate::Driver::reap) hands it over.
pub enum OpRef<'a, O: ?Sized> {
    /// One of several CQEs of a multishot op (`IORING_CQE_F_MORE`): the op stays in flight,
    /// owned by the driver; this is its `update` step.
    Live(&'a mut O),
    /// The op's final CQE: the op is the caller's now, buffers and all, and the kernel will
    /// never touch its memory again.
    Done(Box<O>),
}

/// A reaped CQE with, at the op's final CQE, the op itself: for hosts that keep completions
/// for later and take ops back by type ([`take_op`](Completion::take_op)). Made from what
/// [`Driver::reap`](crate::Driver::reap) hands over, with [`Completion::from_parts`] (or
/// [`completions`], which adapts a `FnMut(Completion)` to a reap sink).
pub struct Completion<O: ?Sized + OpCode = dyn OpCode> {
    /// The token given to [`Driver::push`](crate::Driver::push).
    pub token: u64,
    /// The op's key.
    pub key: OpKey,
    /// The CQE's `res`: a count or descriptor, or `-errno`.
    pub result: i32,
    /// The CQE's flags.
    pub flags: u32,
    /// Whether [`Driver::cancel`](crate::Driver::cancel) was called for this op.
    pub cancelled: bool,
    buffer: Option<(u16, u16)>,
    op: Option<Box<O>>,
}

impl<O: ?Sized + OpCode> Completion<O> {
    /// A completion from a reaped CQE and its op (kept only when it is the final CQE).
    pub fn from_parts(cqe: Cqe, op: OpRef<'_, O>) -> Self {
        Completion {
            token: cqe.token,
            key: cqe.key,
            result: cqe.result,
            flags: cqe.flags,
            cancelled: cqe.cancelled,
            buffer: cqe.buffer,
            op: match op {
                OpRef::Live(_) => None,
                OpRef::Done(op) => Some(op),
            },
        }
    }

    /// `result` as an `io::Result`.
    pub fn result(&self) -> io::Result<u32> {
        cqe_result(self.result)
    }

    /// Whether this is the op's last CQE (multishot ops post several).
    pub fn is_final(&self) -> bool {
        self.op.is_some()
    }

    /// The provided buffer the kernel filled for this CQE (`IORING_CQE_F_BUFFER`), if any.
    /// Lease it from its [`BufRing`](crate::BufRing) with [`BufRing::lease`](crate::BufRing::lease).
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

impl<O: ?Sized + OpCode> Selected for Completion<O> {
    fn selected(&self) -> (Option<(u16, u16)>, i32) {
        (self.buffer, self.result)
    }
}

/// Adapts a sink of [`Completion`]s to [`Driver::reap`](crate::Driver::reap):
/// `driver.reap(completions(|c| done.push(c)))`.
pub fn completions<O: ?Sized + OpCode>(
    mut sink: impl FnMut(Completion<O>),
) -> impl FnMut(Cqe, OpRef<'_, O>) {
    move |cqe, op| sink(Completion::from_parts(cqe, op))
}
