use super::OpCode;
use io_uring::{opcode, squeue::Entry};

/// Does nothing; completes with 0. Useful to wake a waiting ring and in tests.
#[derive(Debug, Default)]
pub struct Nop;

// SAFETY: a NOP carries no pointers.
unsafe impl OpCode for Nop {
    fn entry(&mut self) -> Entry {
        opcode::Nop::new().build()
    }
}
