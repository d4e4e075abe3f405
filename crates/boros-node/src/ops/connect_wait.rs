//! The rest of a TCP connect that `connect(2)` started (`tcp_connect_now`: what libuv's
//! `uv__tcp_connect` does, so the errors the kernel gives at once are told apart from those of
//! the handshake, as node:net tells them): a poll for `POLLOUT` on the connecting socket, then
//! its `SO_ERROR`, as libuv's `uv__stream_connect` reads it.

use crate::complete::JsBatch;
use boros::io_uring::squeue::Entry;
use boros::op::{self, OpCode};
use boros::Complete;
use boros::Cqe;

/// Waits for the connect in progress on `fd` to end; settles with 0 or `-errno`.
pub struct ConnectWait {
    op: op::PollAdd,
    fd: i32,
    token: u32,
}

impl ConnectWait {
    /// Waits on `fd`, settling the façade's `token`.
    pub fn new(fd: i32, token: u32) -> Box<Self> {
        Box::new(Self {
            op: op::PollAdd::new(fd, libc::POLLOUT as u32),
            fd,
            token,
        })
    }
}

// SAFETY: delegates to `op::PollAdd`, which carries no pointers.
unsafe impl OpCode for ConnectWait {
    fn entry(&mut self) -> Entry {
        self.op.entry()
    }
}

impl Complete<JsBatch<'_>> for ConnectWait {
    fn complete(self: Box<Self>, cqe: &Cqe, cx: &mut JsBatch<'_>) {
        // A failed poll (-ECANCELED after a cancel) is the result; a ready socket (writable,
        // or POLLERR/POLLHUP, always reported) holds the connect's outcome in SO_ERROR (read
        // and cleared here, as libuv does).
        let result = if cqe.result < 0 {
            cqe.result
        } else {
            match boros::net::getsockopt_int(self.fd, libc::SOL_SOCKET, libc::SO_ERROR) {
                Ok(e) => -e,
                Err(e) => -e.raw_os_error().unwrap_or(libc::EIO),
            }
        };
        cx.settle(self.token, result);
    }
}
