//! A zero-copy send of an HTTP engine connection (`SENDMSG_ZC`): two CQEs, the result (the
//! engine's connection goes on) and the notification (the buffers are released), each handed
//! to the engine function given (see `crate::http::zc`).

use crate::complete::JsBatch;
use boros::buf::IoBuf;
use boros::io_uring::squeue::Entry;
use boros::op::{OpCode, SendMsg, SendZc};
use boros::{Complete, Cqe};

/// The result: `(cx, server, conn, result, the buffers, still the kernel's to read)`.
pub type OnResult<B> = fn(&mut JsBatch<'_>, u32, u32, i32, &[B]);
/// The notification: `(server, conn, whether the kernel copied, the buffers back)`.
pub type OnNotified<B> = fn(u32, u32, bool, Vec<B>);

/// The send, the connection it belongs to and where its CQEs go.
pub struct HttpZc<B: IoBuf> {
    op: SendMsg<B>,
    server: u32,
    conn: u32,
    on_result: OnResult<B>,
    on_notified: OnNotified<B>,
    /// The result CQE was handed on.
    reported: bool,
}

impl<B: IoBuf> HttpZc<B> {
    /// A zero-copy send of `bufs` on `fd`.
    pub fn new(
        fd: i32,
        bufs: Vec<B>,
        (server, conn): (u32, u32),
        on_result: OnResult<B>,
        on_notified: OnNotified<B>,
    ) -> Box<Self> {
        Box::new(Self {
            op: SendMsg::new(fd, bufs).zero_copy(true),
            server,
            conn,
            on_result,
            on_notified,
            reported: false,
        })
    }

    fn report(&mut self, cqe: &Cqe, cx: &mut JsBatch<'_>) {
        if !self.reported && !SendZc::<B>::is_notification(cqe.flags) {
            self.reported = true;
            (self.on_result)(cx, self.server, self.conn, cqe.result, self.op.bufs());
        }
    }
}

// SAFETY: delegates to the core's `SendMsg`, which owns the buffers (and the msghdr and
// iovecs) its entry points to; the driver keeps this op in place until its final CQE, the
// notification, after which the kernel no longer reads them.
unsafe impl<B: IoBuf> OpCode for HttpZc<B> {
    fn entry(&mut self) -> Entry {
        self.op.entry()
    }
}

impl<B: IoBuf> Complete<JsBatch<'_>> for HttpZc<B> {
    fn update(&mut self, cqe: &Cqe, cx: &mut JsBatch<'_>) {
        self.report(cqe, cx);
    }

    fn complete(mut self: Box<Self>, cqe: &Cqe, cx: &mut JsBatch<'_>) {
        // A lone final CQE is the result (the kernel failed the send before a notification).
        self.report(cqe, cx);
        let copied = SendZc::<B>::copied(cqe.result, cqe.flags);
        let this = *self;
        (this.on_notified)(this.server, this.conn, copied, this.op.into_bufs());
    }
}
