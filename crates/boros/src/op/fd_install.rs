use super::OpCode;
use io_uring::{opcode, squeue::Entry, types};

/// `IORING_OP_FIXED_FD_INSTALL` (Linux 6.8): installs a direct descriptor into the process's
/// file table; completes with the new plain descriptor (`O_CLOEXEC`). The direct descriptor
/// stays open too.
pub struct FixedFdInstall {
    slot: u32,
}

impl FixedFdInstall {
    /// Installs the file at `slot` of the registered file table.
    pub fn new(slot: u32) -> Self {
        Self { slot }
    }
}

// SAFETY: carries no pointers.
unsafe impl OpCode for FixedFdInstall {
    fn entry(&mut self) -> Entry {
        opcode::FixedFdInstall::new(types::Fixed(self.slot), 0).build()
    }
}
