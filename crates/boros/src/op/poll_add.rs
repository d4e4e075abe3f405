use super::{with_target, OpCode, Target};
use io_uring::{opcode, squeue::Entry};

/// `poll(2)` of one descriptor on the ring (`IORING_OP_POLL_ADD`, Linux 5.1; multishot 5.13):
/// completes with the ready events (`POLLIN`, `POLLOUT`, `POLLHUP`, ... as a mask).
///
/// With [`multi`](PollAdd::multi), one CQE per readiness change, with `IORING_CQE_F_MORE`
/// while armed; the op ends on a cancel, an error or a full completion queue (push it again).
pub struct PollAdd {
    target: Target,
    events: u32,
    multi: bool,
}

impl PollAdd {
    /// Waits for any of `events` (`libc::POLLIN as u32`, ...) on `target`.
    pub fn new(target: impl Into<Target>, events: u32) -> Self {
        Self {
            target: target.into(),
            events,
            multi: false,
        }
    }

    /// Stays armed and reports every readiness change (`IORING_POLL_ADD_MULTI`).
    pub fn multi(mut self) -> Self {
        self.multi = true;
        self
    }
}

// SAFETY: a poll op carries no pointers.
unsafe impl OpCode for PollAdd {
    fn entry(&mut self) -> Entry {
        with_target!(self.target, |t| opcode::PollAdd::new(t, self.events)
            .multi(self.multi)
            .build())
    }
}
