//! A connection's multishot receive (Linux 6.0) into the thread's shared provided-buffer ring:
//! each CQE's bytes are copied into the batch's event data at once and the ring buffer goes
//! back to the kernel in the same reap, so a slow JS reader never holds kernel buffers, and JS
//! memory is never lent to the kernel. The JS side is `src-ts/net/`, the calls `api/net.rs`.

use crate::complete::{Finish, NodeOp};
use crate::wire::EVENT_REARM;
use boros::io_uring::squeue::Entry;
use boros::op::{self, OpCode};
use boros::{BufRing, Cqe};
use std::rc::Rc;

/// The multishot receive armed on a connected socket.
pub struct RecvStream {
    op: op::RecvMulti,
    stream: u32,
}

impl RecvStream {
    /// Receives from `fd` into buffers of `ring`, reporting to `stream`.
    pub fn new(fd: i32, ring: Rc<BufRing>, stream: u32) -> Box<Self> {
        Box::new(Self {
            op: op::RecvMulti::new(fd, ring),
            stream,
        })
    }

    fn take(&self, cqe: &Cqe, cx: &mut Finish<'_>) {
        // A buffer the kernel filled is leased even when the bytes come after a cancel: the
        // lease's drop is what gives it back to the group.
        if let Some(lease) = self.op.ring().lease(cqe) {
            if !lease.is_empty() {
                cx.event_bytes(self.stream, &lease);
            }
        }
    }
}

// SAFETY: delegates to `op::RecvMulti`, whose entry carries no pointer (the kernel picks
// buffers from the group, which the op keeps alive with an `Rc`).
unsafe impl OpCode for RecvStream {
    fn entry(&mut self) -> Entry {
        self.op.entry()
    }
    fn buf_group(&self) -> Option<u16> {
        self.op.buf_group()
    }
}

impl NodeOp for RecvStream {
    fn update(&mut self, cqe: &Cqe, cx: &mut Finish<'_>) {
        if cqe.result > 0 {
            self.take(cqe, cx);
        } else {
            cx.event(self.stream, cqe.result);
        }
    }

    fn complete(self: Box<Self>, cqe: &Cqe, cx: &mut Finish<'_>) {
        match cqe.result {
            // Bytes with the last CQE: the multishot stopped (a full CQ); deliver, then re-arm.
            r if r > 0 => {
                self.take(cqe, cx);
                cx.event(self.stream, EVENT_REARM);
            }
            // The group ran dry for a moment: nothing lost, arm again.
            r if r == -libc::ENOBUFS => cx.event(self.stream, EVENT_REARM),
            // 0: end of stream; -errno: an error, or -ECANCELED after a pause or a close.
            r => cx.event(self.stream, r),
        }
    }
}
