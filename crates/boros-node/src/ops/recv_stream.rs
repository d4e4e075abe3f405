//! A connection's multishot receive (Linux 6.0) into the thread's shared provided-buffer ring:
//! each CQE's bytes are handed to the op's [`RecvSink`] at once and the ring buffer goes back
//! to the kernel in the same reap, so a slow JS reader never holds kernel buffers, and JS
//! memory is never lent to the kernel. The sink of `boros/net` sockets ([`StreamSink`]) copies
//! the bytes into the batch's event data (the JS side is `src-ts/net/`, the calls `api/net.rs`);
//! the HTTP engine's sink feeds its parser (`crate::http`).

use crate::complete::JsBatch;
use crate::wire::EVENT_REARM;
use boros::io_uring::squeue::Entry;
use boros::multishot::{self, Shot};
use boros::op::{self, OpCode};
use boros::Complete;
use boros::{BufRing, Cqe};
use std::rc::Rc;

/// Where a receive's bytes and its end go.
pub trait RecvSink: 'static {
    /// Bytes received (a view of the ring buffer, valid for this call only).
    fn bytes(&mut self, bytes: &[u8], cx: &mut JsBatch<'_>);
    /// The stream's state: 0 at end of stream, `-errno` (`-ECANCELED` after a cancel), or
    /// [`EVENT_REARM`] (the multishot stopped with nothing lost: arm it again). Every status
    /// but one coming with `IORING_CQE_F_MORE` is the op's last.
    fn status(&mut self, result: i32, cx: &mut JsBatch<'_>);
}

/// The sink of a `boros/net` connection: stream events for the façade (see `wire::event`).
pub struct StreamSink(pub u32);

impl RecvSink for StreamSink {
    fn bytes(&mut self, bytes: &[u8], cx: &mut JsBatch<'_>) {
        cx.event_bytes(self.0, bytes);
    }
    fn status(&mut self, result: i32, cx: &mut JsBatch<'_>) {
        cx.event(self.0, result);
    }
}

/// The multishot receive armed on a connected socket.
pub struct RecvStream<S: RecvSink = StreamSink> {
    op: op::RecvMulti,
    sink: S,
}

impl RecvStream {
    /// Receives from `fd` into buffers of `ring`, reporting to `stream`.
    pub fn new(fd: i32, ring: Rc<BufRing>, stream: u32) -> Box<Self> {
        RecvStream::with_sink(fd, ring, StreamSink(stream))
    }
}

impl<S: RecvSink> RecvStream<S> {
    /// Receives from `fd` into buffers of `ring`, handing everything to `sink`.
    pub fn with_sink(fd: i32, ring: Rc<BufRing>, sink: S) -> Box<Self> {
        Box::new(Self {
            op: op::RecvMulti::new(fd, ring),
            sink,
        })
    }

    fn take(&mut self, cqe: &Cqe, cx: &mut JsBatch<'_>) {
        // A buffer the kernel filled is leased even when the bytes come after a cancel: the
        // lease's drop is what gives it back to the group.
        if let Some(lease) = self.op.ring().lease(cqe) {
            if !lease.is_empty() {
                self.sink.bytes(&lease, cx);
            }
        }
    }
}

// SAFETY: delegates to `op::RecvMulti`, whose entry carries no pointer (the kernel picks
// buffers from the group, which the op keeps alive with an `Rc`).
unsafe impl<S: RecvSink> OpCode for RecvStream<S> {
    fn entry(&mut self) -> Entry {
        self.op.entry()
    }
    fn buf_group(&self) -> Option<u16> {
        self.op.buf_group()
    }
    /// A receive that found the shared group empty is armed again by the driver at the end of
    /// the reap pass (the group grown, the pass's buffers back), under the same key, and goes
    /// in with the sends of the batch's JS: no trip through JS (`EVENT_REARM`, `recvStart`,
    /// a new op). docs/net.md, "A starved receive".
    fn rearm_when_starved(&self) -> bool {
        true
    }
}

/// The status a multishot op's final CQE reports to JS after any item it carries (the core
/// reads the CQE: [`multishot::step`]): [`EVENT_REARM`] when the op stopped with nothing lost
/// (on an item: a full CQ, a late cancel; or its buffer group ran dry), `0` at end of stream,
/// else `-errno` (`-ECANCELED` after a pause or a close).
pub fn last_status(step: multishot::Step) -> i32 {
    match step.shot {
        Shot::Item(_) | Shot::Rearm => EVENT_REARM,
        Shot::End => 0,
        Shot::Error(e) => e,
    }
}

impl<S: RecvSink> Complete<JsBatch<'_>> for RecvStream<S> {
    fn update(&mut self, cqe: &Cqe, cx: &mut JsBatch<'_>) {
        if cqe.result > 0 {
            self.take(cqe, cx);
        } else {
            self.sink.status(cqe.result, cx);
        }
    }

    fn complete(mut self: Box<Self>, cqe: &Cqe, cx: &mut JsBatch<'_>) {
        let step = multishot::step(cqe.result, cqe.flags);
        if let Shot::Item(_) = step.shot {
            self.take(cqe, cx);
        }
        self.sink.status(last_status(step), cx);
    }
}
