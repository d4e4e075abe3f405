use super::OpCode;
use io_uring::{opcode, squeue::Entry, types};
use std::time::Duration;

/// A deadline for the op just before it in a chain (`IORING_OP_LINK_TIMEOUT`, Linux 5.5).
///
/// Push it right after the op it guards, the op flagged `IO_LINK`:
/// ```no_run
/// # use boros::{op, Driver};
/// # use boros::io_uring::squeue::Flags;
/// # use std::time::Duration;
/// # let mut driver = Driver::new()?;
/// # let fd = 0;
/// driver.push_linked(vec![
///     (Box::new(op::Recv::new(fd, vec![0u8; 4096])), 1, Flags::IO_LINK),
///     (Box::new(op::LinkTimeout::new(Duration::from_secs(5))), 2, Flags::empty()),
/// ])?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
/// If the deadline passes first, the op is cancelled (it completes with `-ECANCELED`, or
/// `-EINTR` for some blocking ops) and the timeout with `-ETIME`; if the op completes first,
/// the timeout completes with `-ECANCELED`. Both always complete.
pub struct LinkTimeout {
    ts: types::Timespec,
    flags: types::TimeoutFlags,
}

impl LinkTimeout {
    /// A deadline `after` from when the guarded op starts.
    pub fn new(after: Duration) -> Self {
        Self {
            ts: after.into(),
            flags: types::TimeoutFlags::empty(),
        }
    }

    /// Adds timeout flags (`ABS`, `BOOTTIME`, `REALTIME`).
    pub fn flags(mut self, flags: types::TimeoutFlags) -> Self {
        self.flags |= flags;
        self
    }
}

// SAFETY: the timespec pointer points into `self.ts`, owned by the op until its CQE.
unsafe impl OpCode for LinkTimeout {
    fn entry(&mut self) -> Entry {
        opcode::LinkTimeout::new(&self.ts).flags(self.flags).build()
    }
}
