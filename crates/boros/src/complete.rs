//! The lifecycle of an op that finishes itself, one trait for every host: [`Complete`].
//!
//! An op is **queued** ([`Driver::push`](crate::Driver::push)), **submitted** (the next
//! `io_uring_enter`), then, for a multishot op, **updated** at each CQE that says more will
//! come, and **completed** at its final CQE, when the driver hands it back by value. Its owner
//! may **abandon** it at any point before ([`Driver::abandon`](crate::Driver::abandon)): the
//! driver then cancels it, keeps it (and its memory) to the final CQE, and releases what the
//! late CQEs bring back itself ([`OpCode::leftover`], provided buffers), so no host carries
//! its own copy of that logic.
//!
//! A host is whatever the ops finish into: the Node binding's JS batch (tokens to settle,
//! stream events), boros-rt's wakers and op slots. [`Driver::reap_into`](crate::Driver::reap_into)
//! (or [`finish_into`] with [`Driver::reap`](crate::Driver::reap)) calls each op's own step;
//! no central switch knows the ops (compio's `OpCode`, tokio-uring's `Completable`).

use crate::cqe::{Cqe, OpRef};
use crate::op::OpCode;

/// An op that finishes itself into a host context `H`.
pub trait Complete<H: ?Sized>: OpCode {
    /// A CQE of a multishot op that stays in flight (`IORING_CQE_F_MORE`): the op is still the
    /// driver's, so only its own state and the host change.
    fn update(&mut self, cqe: &Cqe, host: &mut H) {
        let _ = (cqe, host);
    }

    /// The op's final CQE: the op is the host's now, and the kernel will never touch its
    /// memory again. Dropping it frees that memory.
    fn complete(self: Box<Self>, cqe: &Cqe, host: &mut H);
}

/// Hands one reaped CQE to its op's own step: [`Complete::update`] while the op stays in
/// flight, [`Complete::complete`] at its final CQE.
pub fn finish<O, H>(host: &mut H, cqe: Cqe, op: OpRef<'_, O>)
where
    O: ?Sized + Complete<H>,
    H: ?Sized,
{
    match op {
        OpRef::Live(op) => op.update(&cqe, host),
        OpRef::Done(op) => op.complete(&cqe, host),
    }
}

/// Adapts a host to a reap sink (see [`finish`]), for [`Driver::reap`](crate::Driver::reap) and
/// [`Driver::fail_unsubmitted`](crate::Driver::fail_unsubmitted).
pub fn finish_into<'h, O, H>(host: &'h mut H) -> impl FnMut(Cqe, OpRef<'_, O>) + 'h
where
    O: ?Sized + Complete<H>,
    H: ?Sized,
{
    move |cqe, op| finish(host, cqe, op)
}
