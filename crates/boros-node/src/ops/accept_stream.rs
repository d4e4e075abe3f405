//! A listener's multishot accept (Linux 5.19): each CQE is a new connection's descriptor,
//! reported to the façade's stream as an event (see `wire::event`). The JS side is
//! `src-ts/net/`, the exported calls `api/net.rs`.

use crate::complete::{Finish, NodeOp};
use crate::wire::EVENT_REARM;
use boros::io_uring::squeue::Entry;
use boros::op::{self, OpCode};
use boros::Cqe;

/// The multishot accept armed on a listening socket.
pub struct AcceptStream {
    op: op::AcceptMulti,
    stream: u32,
}

impl AcceptStream {
    /// Accepts connections on `fd` (`SOCK_CLOEXEC | SOCK_NONBLOCK`), reporting to `stream`.
    pub fn new(fd: i32, stream: u32) -> Box<Self> {
        Box::new(Self {
            op: op::AcceptMulti::new(fd).flags(libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK),
            stream,
        })
    }
}

// SAFETY: delegates to `op::AcceptMulti`, whose entry carries no pointer.
unsafe impl OpCode for AcceptStream {
    fn entry(&mut self) -> Entry {
        self.op.entry()
    }
}

impl NodeOp for AcceptStream {
    fn update(&mut self, cqe: &Cqe, cx: &mut Finish<'_>) {
        // A connection is this thread's (fds.rs) until the façade closes it.
        crate::fds::own(cqe.result);
        cx.event(self.stream, cqe.result);
    }

    fn complete(self: Box<Self>, cqe: &Cqe, cx: &mut Finish<'_>) {
        if cqe.result >= 0 {
            crate::fds::own(cqe.result);
            // The multishot stopped on a connection (a full CQ, or a cancel that came too late:
            // the façade closes descriptors a closed listener receives): deliver it, then say so.
            cx.event(self.stream, cqe.result);
            cx.event(self.stream, EVENT_REARM);
        } else {
            cx.event(self.stream, cqe.result);
        }
    }
}
