//! How a binding op finishes itself: the core's lifecycle trait ([`boros::Complete`]) hosted
//! by the JS batch ([`JsBatch`], what the runtime lends an op when its CQE comes).
//!
//! Each op type carries its own completion logic (compio's `OpCode::set_result`, tokio-uring's
//! `Completable`): a read copies its bounce buffer out, a stat fills the caller's record, a
//! multishot read keeps each chunk in its stream. The runtime's reap hands each CQE to the
//! op's `update` (a multishot CQE) or `complete` (the final one), as boros-rt's reap does with
//! its own host: no central switch knows the ops, and adding an op adds one file under `ops/`.

use crate::bounce::BounceBuffers;
use boros::Complete;

/// A binding op: a core op (its SQE, the memory it lends the kernel) that finishes itself
/// into the JS batch (`impl Complete<JsBatch<'_>> for MyOp`). The runtime keeps it in the
/// driver until its final CQE, then hands it back by value to `complete`, which drops it:
/// only then is its memory released. `complete` runs on the JS thread, inside the poll
/// callback's handle scope.
pub trait NodeOp: for<'a> Complete<JsBatch<'a>> {}

impl<T: ?Sized + for<'a> Complete<JsBatch<'a>>> NodeOp for T {}

/// Work an op leaves for after the reap, when the driver can be touched again.
pub enum FollowUp {
    /// Queue another op (say, the close of a descriptor a chain of ops ended with).
    Push(Box<dyn NodeOp>),
}

/// What the runtime lends an op while it finishes.
pub struct JsBatch<'a> {
    /// `(token, result)` pairs for the façade, delivered in one JS call per batch.
    pub(crate) settled: &'a mut Vec<(u32, i32)>,
    /// Recycled bounce buffers.
    pub bounce: &'a mut BounceBuffers,
    /// Work for after the reap.
    pub(crate) later: &'a mut Vec<FollowUp>,
    /// Stream events `(stream, result, offset, segment)` for the façade (see `wire::event`).
    pub(crate) events: &'a mut Vec<crate::wire::event::Event>,
    /// The Buffers stream events' bytes are copied into (see `segments.rs`).
    pub(crate) segments: &'a mut crate::segments::Segments,
}

impl JsBatch<'_> {
    /// Settles the façade's `token` with `result` (a count, a descriptor, 0, or `-errno`).
    pub fn settle(&mut self, token: u32, result: i32) {
        self.settled.push((token, result));
    }

    /// Reports `result` to the façade's `stream` (an accepted descriptor, an end, `-errno`,
    /// [`EVENT_REARM`](crate::wire::EVENT_REARM)).
    pub fn event(&mut self, stream: u32, result: i32) {
        self.events.push([stream as i32, result, 0, 0]);
    }

    /// Reports bytes received on the façade's `stream` (copied into one of the batch's
    /// segments; `-ENOMEM` instead if V8 could not allocate one).
    pub fn event_bytes(&mut self, stream: u32, bytes: &[u8]) {
        self.place(stream, bytes, 1);
    }

    /// Reports a record `write` appends to an empty `Vec` on the façade's `stream` (placed
    /// 4-aligned in a segment); the event's result is the record's length.
    pub fn event_with(&mut self, stream: u32, write: impl FnOnce(&mut Vec<u8>)) {
        let mut record = std::mem::take(&mut self.segments.scratch);
        record.clear();
        write(&mut record);
        self.place(stream, &record, 4);
        self.segments.scratch = record;
    }

    fn place(&mut self, stream: u32, bytes: &[u8], align: usize) {
        // SAFETY: ops finish on the JS thread inside a handle scope (the poll callback's, or
        // the prepare callback's around a submit that may fail ops).
        match unsafe { self.segments.place(bytes.len(), align) } {
            Some((segment, offset, room)) => {
                room.copy_from_slice(bytes);
                self.events.push([
                    stream as i32,
                    bytes.len() as i32,
                    offset as i32,
                    segment as i32,
                ]);
            }
            None => self.event(stream, -libc::ENOMEM),
        }
    }

    /// Runs `later` once the reap is over.
    pub fn defer(&mut self, later: FollowUp) {
        self.later.push(later);
    }
}
