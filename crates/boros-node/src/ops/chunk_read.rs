//! Chunk streams: a multishot read (Linux 6.7) into a provided buffer ring (5.19), for pipes,
//! FIFOs and other pollable descriptors. The JS side is `src-ts/chunks.ts`, the exported
//! calls `api/chunks.rs`.
//!
//! Every CQE of the armed read is finished by the op itself, during the reap, on the JS
//! thread: [`ChunkRead::update`](crate::complete::NodeOp::update) for each CQE that says more
//! will come, [`complete`](crate::complete::NodeOp::complete) for the last. The bytes are
//! copied out of the ring buffer into a fresh `Vec` (handed to JS as a Buffer later), and the
//! ring buffer goes back to the kernel at once. JS memory is never lent to the kernel, so a
//! transfer, a GC or a closed stream can never meet a kernel write.
//!
//! Delivery to JS uses ordinary one-shot tokens: when JS finds nothing queued it parks a token
//! (`chunksNext(id, token)` returns null), and the next CQE of that stream settles it.

use crate::complete::{Finish, NodeOp};
use boros::io_uring::squeue::Entry;
use boros::op::{self, OpCode};
use boros::{BufRing, Cqe};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

/// The state of one stream, shared by the JS-facing calls and the armed read.
pub struct ChunkStream {
    /// The descriptor read from.
    pub fd: i32,
    /// The stream's buffer group.
    pub ring: Rc<BufRing>,
    /// The armed multishot read's key, until its final CQE.
    pub armed: Option<boros::OpKey>,
    /// Chunks copied out of the ring, not yet taken by JS.
    pub queue: VecDeque<Vec<u8>>,
    /// How the last armed read ended, not yet reported to JS.
    pub ended: Option<i32>,
    /// The JS token to settle when the next CQE arrives.
    pub notify: Option<u32>,
    /// JS closed the stream.
    pub closed: bool,
}

impl ChunkStream {
    fn take_chunk(&mut self, cqe: &Cqe) {
        if let Some(lease) = self.ring.lease(cqe) {
            if !self.closed {
                self.queue.push_back(lease.to_vec());
            }
            // The lease drops here: the buffer goes back to the kernel.
        }
    }
}

/// The multishot read armed on a stream.
pub struct ChunkRead {
    op: op::ReadMulti,
    stream: Rc<RefCell<ChunkStream>>,
}

impl ChunkRead {
    /// A multishot read on `stream`'s descriptor into its buffer group.
    pub fn new(stream: &Rc<RefCell<ChunkStream>>) -> Box<Self> {
        let (fd, ring) = {
            let st = stream.borrow();
            (st.fd, Rc::clone(&st.ring))
        };
        Box::new(Self {
            op: op::ReadMulti::new(fd, ring),
            stream: Rc::clone(stream),
        })
    }
}

// SAFETY: delegates to `op::ReadMulti`, whose entry carries no pointer (the kernel takes
// buffers from the group, which the op keeps alive with an `Rc`).
unsafe impl OpCode for ChunkRead {
    fn entry(&mut self) -> Entry {
        self.op.entry()
    }
    fn buf_group(&self) -> Option<u16> {
        self.op.buf_group()
    }
}

impl NodeOp for ChunkRead {
    fn update(&mut self, cqe: &Cqe, cx: &mut Finish<'_>) {
        let mut st = self.stream.borrow_mut();
        st.take_chunk(cqe);
        if let Some(t) = st.notify.take() {
            cx.settle(t, 0);
        }
    }

    fn complete(self: Box<Self>, cqe: &Cqe, cx: &mut Finish<'_>) {
        let mut st = self.stream.borrow_mut();
        st.take_chunk(cqe);
        st.armed = None;
        // A final CQE with data (the multishot stopped, e.g. CQ overflow) means "re-arm".
        st.ended = Some(if cqe.result > 0 {
            -libc::EAGAIN
        } else {
            cqe.result
        });
        let result = if st.closed { -libc::ECANCELED } else { 0 };
        if let Some(t) = st.notify.take() {
            cx.settle(t, result);
        }
    }
}
