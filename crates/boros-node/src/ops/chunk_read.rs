//! Chunk streams: a multishot read (Linux 6.7) into a provided buffer ring (5.19), for pipes,
//! FIFOs and other pollable descriptors. The JS side is `src-ts/chunks.ts`, the exported
//! calls `api/chunks.rs`.
//!
//! Every CQE of the armed read is finished by the op itself, during the reap, on the JS
//! thread, and reaches JS the way a socket's receive does (`ops/recv_stream.rs`): as a
//! **stream event** of the batch (`wire::event`), the bytes copied out of the ring buffer into
//! the batch's data buffer and the ring buffer given back to the kernel at once. JS memory is
//! never lent to the kernel, so a transfer, a GC or a closed stream can never meet a kernel
//! write. Events: bytes (`n > 0`), end of file (`0`), [`EVENT_REARM`] (the group ran dry or
//! the multishot stopped: nothing lost, arm again), or `-errno` (`-ECANCELED` after a cancel).

use super::recv_stream::last_status;
use crate::complete::JsBatch;
use boros::io_uring::squeue::Entry;
use boros::multishot::{self, Shot};
use boros::op::{self, OpCode};
use boros::Complete;
use boros::{BufRing, Cqe, OpKey};
use std::cell::Cell;
use std::rc::Rc;

/// A stream's buffer group and descriptor, shared by the JS-facing calls and the armed read.
pub struct ChunkStream {
    /// The descriptor read from.
    pub fd: i32,
    /// The stream's buffer group.
    pub ring: Rc<BufRing>,
    /// The armed multishot read's key, until its final CQE.
    pub armed: Cell<Option<OpKey>>,
    /// JS closed the stream.
    pub closed: Cell<bool>,
}

/// The multishot read armed on a stream, reporting to the façade's stream `event_stream`.
pub struct ChunkRead {
    op: op::ReadMulti,
    stream: Rc<ChunkStream>,
    event_stream: u32,
}

impl ChunkRead {
    /// A multishot read on `stream`'s descriptor into its buffer group.
    pub fn new(stream: &Rc<ChunkStream>, event_stream: u32) -> Box<Self> {
        Box::new(Self {
            op: op::ReadMulti::new(stream.fd, Rc::clone(&stream.ring)),
            stream: Rc::clone(stream),
            event_stream,
        })
    }

    fn take(&self, cqe: &Cqe, cx: &mut JsBatch<'_>) {
        // Leased even after a close: dropping the lease is what gives the buffer back.
        if let Some(lease) = self.stream.ring.lease(cqe) {
            if !self.stream.closed.get() && !lease.is_empty() {
                cx.event_bytes(self.event_stream, &lease);
            }
        }
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

impl Complete<JsBatch<'_>> for ChunkRead {
    fn update(&mut self, cqe: &Cqe, cx: &mut JsBatch<'_>) {
        self.take(cqe, cx);
    }

    fn complete(self: Box<Self>, cqe: &Cqe, cx: &mut JsBatch<'_>) {
        self.stream.armed.set(None);
        let step = multishot::step(cqe.result, cqe.flags);
        if let Shot::Item(_) = step.shot {
            self.take(cqe, cx);
        }
        let end = if self.stream.closed.get() {
            -libc::ECANCELED
        } else {
            last_status(step)
        };
        cx.event(self.event_stream, end);
    }
}
