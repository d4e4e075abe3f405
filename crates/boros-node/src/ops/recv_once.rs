//! A connection's receive without a provided-buffer ring: one plain `recv` into a buffer the op
//! owns, reporting its bytes as a stream event and then asking the façade to arm again (as a
//! multishot receive does when it stops). Used when the thread's shared buffer ring could not be
//! registered (`IORING_REGISTER_PBUF_RING` refused: a small `RLIMIT_MEMLOCK` without
//! `CAP_IPC_LOCK`), so receiving degrades instead of failing.

use crate::complete::JsBatch;
use crate::wire::EVENT_REARM;
use boros::io_uring::squeue::Entry;
use boros::op::{self, OpCode};
use boros::Complete;
use boros::Cqe;

/// Bytes one receive takes at most.
const SIZE: usize = 64 * 1024;

/// One `recv` on a connected socket into an owned buffer.
pub struct RecvOnce {
    op: op::Recv<Vec<u8>>,
    stream: u32,
}

impl RecvOnce {
    /// Receives once from `fd`, reporting to `stream`.
    pub fn new(fd: i32, stream: u32) -> Box<Self> {
        Box::new(Self {
            op: op::Recv::new(fd, Vec::with_capacity(SIZE)),
            stream,
        })
    }
}

// SAFETY: delegates to `op::Recv`, whose buffer this op owns until its (only) CQE.
unsafe impl OpCode for RecvOnce {
    fn entry(&mut self) -> Entry {
        self.op.entry()
    }
}

impl Complete<JsBatch<'_>> for RecvOnce {
    fn update(&mut self, _cqe: &Cqe, _cx: &mut JsBatch<'_>) {}

    fn complete(self: Box<Self>, cqe: &Cqe, cx: &mut JsBatch<'_>) {
        match cqe.result {
            r if r > 0 => {
                let stream = self.stream;
                let buf = self.op.into_buf(r as u32);
                cx.event_bytes(stream, &buf);
                cx.event(stream, EVENT_REARM);
            }
            // 0: end of stream; -errno: an error, or -ECANCELED after a pause or a close.
            r => cx.event(self.stream, r),
        }
    }
}
