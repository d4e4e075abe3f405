//! How a binding op finishes itself: the [`NodeOp`] trait, and what the runtime lends an op
//! when its CQE comes ([`Finish`]).
//!
//! Each op type carries its own completion logic (compio's `OpCode::set_result`, tokio-uring's
//! `Completable`): a read copies its bounce buffer out, a stat fills the caller's record, a
//! multishot read keeps each chunk in its stream. The runtime's reap just calls the op's
//! [`NodeOp::update`] (a multishot CQE) or [`NodeOp::complete`] (the final one): no central
//! switch knows the ops, and adding an op adds one file under `ops/`.

use crate::bounce::BounceBuffers;
use boros::op::OpCode;
use boros::Cqe;

/// A binding op: a core op (its SQE, the memory it lends the kernel) plus what to do with its
/// completions. The runtime keeps it in the driver until its final CQE, then hands it back by
/// value to [`complete`](Self::complete), which drops it: only then is its memory released.
pub trait NodeOp: OpCode {
    /// A CQE of a multishot op that stays in flight (`IORING_CQE_F_MORE`).
    fn update(&mut self, cqe: &Cqe, cx: &mut Finish<'_>) {
        let _ = (cqe, cx);
    }

    /// The op's final CQE. Runs on the JS thread, inside the poll callback's handle scope.
    fn complete(self: Box<Self>, cqe: &Cqe, cx: &mut Finish<'_>);
}

/// Work an op leaves for after the reap, when the driver can be touched again.
pub enum Later {
    /// Queue another op (say, the close of a descriptor a chain of ops ended with).
    Push(Box<dyn NodeOp>),
}

/// What the runtime lends an op while it finishes.
pub struct Finish<'a> {
    /// `(token, result)` pairs for the façade, delivered in one JS call per batch.
    pub(crate) settled: &'a mut Vec<(u32, i32)>,
    /// Recycled bounce buffers.
    pub bounce: &'a mut BounceBuffers,
    /// Work for after the reap.
    pub(crate) later: &'a mut Vec<Later>,
    /// Stream events `(stream, result, offset)` for the façade (see `wire::event`).
    pub(crate) events: &'a mut Vec<crate::wire::event::Event>,
    /// The bytes stream events point into, handed to JS as one Buffer per batch.
    pub(crate) event_data: &'a mut Vec<u8>,
}

impl Finish<'_> {
    /// Settles the façade's `token` with `result` (a count, a descriptor, 0, or `-errno`).
    pub fn settle(&mut self, token: u32, result: i32) {
        self.settled.push((token, result));
    }

    /// Reports `result` to the façade's `stream` (an accepted descriptor, an end, `-errno`,
    /// [`EVENT_REARM`](crate::wire::EVENT_REARM)).
    pub fn event(&mut self, stream: u32, result: i32) {
        self.events.push([stream as i32, result, 0]);
    }

    /// Reports bytes received on the façade's `stream` (copied into the batch's data buffer).
    pub fn event_bytes(&mut self, stream: u32, bytes: &[u8]) {
        let offset = self.event_data.len();
        self.event_data.extend_from_slice(bytes);
        self.events
            .push([stream as i32, bytes.len() as i32, offset as i32]);
    }

    /// Reports a record `write` appends to the batch's data buffer (starting 4-aligned) on the
    /// façade's `stream`; the event's result is the record's length.
    pub fn event_with(&mut self, stream: u32, write: impl FnOnce(&mut Vec<u8>)) {
        while self.event_data.len() % 4 != 0 {
            self.event_data.push(0);
        }
        let offset = self.event_data.len();
        write(self.event_data);
        let len = self.event_data.len() - offset;
        self.events.push([stream as i32, len as i32, offset as i32]);
    }

    /// Runs `later` once the reap is over.
    pub fn defer(&mut self, later: Later) {
        self.later.push(later);
    }
}
