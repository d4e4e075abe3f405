use super::{OpCode, SlotUse, Target};
use io_uring::{opcode, squeue::Entry, types};

/// `close(2)` of a plain descriptor, or release of a direct descriptor slot.
pub struct Close {
    target: Target,
}

impl Close {
    /// Closes `target`.
    pub fn new(target: impl Into<Target>) -> Self {
        Self {
            target: target.into(),
        }
    }
}

// SAFETY: a close carries no pointers.
unsafe impl OpCode for Close {
    fn entry(&mut self) -> Entry {
        match self.target {
            Target::Fd(fd) => opcode::Close::new(types::Fd(fd)).build(),
            Target::Fixed(i) => opcode::Close::new(types::Fixed(i)).build(),
        }
    }

    fn file_slot(&self) -> Option<SlotUse> {
        match self.target {
            Target::Fd(_) => None,
            Target::Fixed(slot) => Some(SlotUse::Empties(slot)),
        }
    }
}
