//! A zero-copy send of an HTTP engine connection (`SENDMSG_ZC`): two CQEs, the result (the
//! connection goes on) and the notification (the pieces are released). See `crate::http::zc`.

use crate::complete::JsBatch;
use crate::http::out::{self, Piece};
use crate::http::zc;
use boros::io_uring::squeue::Entry;
use boros::op::{OpCode, SendMsg, SendZc};
use boros::{Complete, Cqe};

/// The send, and the connection it belongs to.
pub struct HttpZc {
    op: SendMsg<Piece>,
    server: u32,
    conn: u32,
    /// The result CQE was handed to the engine.
    reported: bool,
}

impl HttpZc {
    /// A zero-copy send of `pieces` on `fd` (made shareable, so that a short send's rest can
    /// be queued again while the kernel may still read them).
    pub fn new(fd: i32, pieces: Vec<Piece>, server: u32, conn: u32) -> Box<Self> {
        let pieces = pieces.into_iter().map(Piece::shareable).collect();
        Box::new(Self {
            op: SendMsg::new(fd, pieces).zero_copy(true),
            server,
            conn,
            reported: false,
        })
    }

    fn report(&mut self, cqe: &Cqe, cx: &mut JsBatch<'_>) {
        if !self.reported && !SendZc::<Piece>::is_notification(cqe.flags) {
            self.reported = true;
            zc::on_result(cx, self.server, self.conn, cqe.result, self.op.bufs());
        }
    }
}

// SAFETY: delegates to the core's `SendMsg`, which owns the pieces (and the msghdr and iovecs)
// its entry points to; the driver keeps this op in place until its final CQE, the
// notification, after which the kernel no longer reads them.
unsafe impl OpCode for HttpZc {
    fn entry(&mut self) -> Entry {
        self.op.entry()
    }
}

impl Complete<JsBatch<'_>> for HttpZc {
    fn update(&mut self, cqe: &Cqe, cx: &mut JsBatch<'_>) {
        self.report(cqe, cx);
    }

    fn complete(mut self: Box<Self>, cqe: &Cqe, cx: &mut JsBatch<'_>) {
        // A lone final CQE is the result (the kernel failed the send before a notification).
        self.report(cqe, cx);
        zc::on_notified(
            self.server,
            self.conn,
            SendZc::<Piece>::copied(cqe.result, cqe.flags),
        );
        out::release(self.op.into_bufs());
    }
}
