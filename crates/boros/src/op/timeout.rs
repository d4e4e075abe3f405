use super::OpCode;
use io_uring::{opcode, squeue::Entry, types};
use std::time::Duration;

/// A timer on the ring (`IORING_OP_TIMEOUT`, Linux 5.4): completes with `-ETIME` when the
/// time has passed, `0` when [`count`](Timeout::count) other completions came first, or
/// `-ECANCELED` when cancelled. For a deadline on one op, see
/// [`LinkTimeout`](super::LinkTimeout).
pub struct Timeout {
    ts: types::Timespec,
    count: u32,
    flags: types::TimeoutFlags,
}

impl Timeout {
    /// Fires after `after` (relative, `CLOCK_MONOTONIC`).
    pub fn new(after: Duration) -> Self {
        Self {
            ts: after.into(),
            count: 0,
            flags: types::TimeoutFlags::empty(),
        }
    }

    /// Completes early, with 0, once `n` other completions were posted.
    pub fn count(mut self, n: u32) -> Self {
        self.count = n;
        self
    }

    /// Adds timeout flags (`ABS`, `BOOTTIME`, `REALTIME`, `ETIME_SUCCESS`, `MULTISHOT`).
    pub fn flags(mut self, flags: types::TimeoutFlags) -> Self {
        self.flags |= flags;
        self
    }
}

// SAFETY: the timespec pointer points into `self.ts`, owned by the op (which the driver
// keeps boxed in place) until its final CQE.
unsafe impl OpCode for Timeout {
    fn entry(&mut self) -> Entry {
        opcode::Timeout::new(&self.ts)
            .count(self.count)
            .flags(self.flags)
            .build()
    }
}
