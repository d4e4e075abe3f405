use super::{with_target, Leftover, OpCode, Target};
use crate::net::SockAddr;
use io_uring::{opcode, squeue::Entry, types};

/// `accept4(2)` on the ring, one connection (`IORING_OP_ACCEPT`, Linux 5.5): the CQE's
/// result is the new descriptor (`SOCK_CLOEXEC`), and [`peer`](Accept::peer) its address.
///
/// A cancelled accept may still complete with a descriptor (the cancel came too late):
/// the completion then has `cancelled` set and `result >= 0`, and the caller must close it.
pub struct Accept {
    target: Target,
    addr: SockAddr,
    flags: i32,
    direct: Option<types::DestinationSlot>,
}

impl Accept {
    /// Accepts one connection on the listening socket `target`.
    pub fn new(target: impl Into<Target>) -> Self {
        Self {
            target: target.into(),
            addr: SockAddr::empty(),
            flags: libc::SOCK_CLOEXEC,
            direct: None,
        }
    }

    /// Adds `accept4` flags (`SOCK_NONBLOCK`).
    pub fn flags(mut self, flags: i32) -> Self {
        self.flags |= flags;
        self
    }

    /// Installs the connection in `slot` of the registered file table instead (a slot from
    /// [`Driver::alloc_file_slot`](crate::Driver::alloc_file_slot); the result is then 0).
    pub fn direct(mut self, slot: types::DestinationSlot) -> Self {
        self.direct = Some(slot);
        self.flags &= !libc::SOCK_CLOEXEC;
        self
    }

    /// The peer's address, once the op completed with a descriptor.
    pub fn peer(&self) -> &SockAddr {
        &self.addr
    }
}

// SAFETY: the address and length pointers point into `self.addr`, owned by the op (which the
// driver keeps boxed in place) until its CQE.
unsafe impl OpCode for Accept {
    fn entry(&mut self) -> Entry {
        let (addr, len) = self.addr.as_mut_parts();
        let slot = self.direct;
        with_target!(self.target, |t| opcode::Accept::new(t, addr, len)
            .flags(self.flags)
            .file_index(slot)
            .build())
    }

    fn leftover(&self, result: i32) -> Leftover {
        // A direct descriptor's slot is its host's to close (the op does not keep which).
        if self.direct.is_some() {
            return Leftover::Nothing;
        }
        Leftover::fd(result)
    }
}
