use super::{Leftover, OpCode};
use io_uring::{opcode, squeue::Entry, types};

/// `socket(2)` on the ring (`IORING_OP_SOCKET`, Linux 5.19): the CQE's result is the new
/// descriptor (with `SOCK_CLOEXEC`), or with [`direct`](Socket::direct) 0, the socket
/// being in a slot of the registered file table. [`net::socket`](crate::net::socket) is the plain system call.
pub struct Socket {
    domain: i32,
    ty: i32,
    protocol: i32,
    direct: Option<types::DestinationSlot>,
}

impl Socket {
    /// A socket of `domain` (`AF_INET`, `AF_INET6`, `AF_UNIX`), `ty` (`SOCK_STREAM`, ...,
    /// optionally `| SOCK_NONBLOCK`) and `protocol` (0 for the default).
    pub fn new(domain: i32, ty: i32, protocol: i32) -> Self {
        Self {
            domain,
            ty: ty | libc::SOCK_CLOEXEC,
            protocol,
            direct: None,
        }
    }

    /// Installs the socket in `slot` of the registered file table instead of the process's
    /// descriptor table (a slot from [`Driver::alloc_file_slot`](crate::Driver::alloc_file_slot);
    /// the CQE's result is then 0). Use it as [`Target::Fixed`](super::Target::Fixed).
    pub fn direct(mut self, slot: types::DestinationSlot) -> Self {
        self.direct = Some(slot);
        // Direct descriptors have no close-on-exec flag; the kernel rejects it for them.
        self.ty &= !libc::SOCK_CLOEXEC;
        self
    }
}

// SAFETY: a socket op carries no pointers.
unsafe impl OpCode for Socket {
    fn entry(&mut self) -> Entry {
        opcode::Socket::new(self.domain, self.ty, self.protocol)
            .file_index(self.direct)
            .build()
    }

    fn leftover(&self, result: i32) -> Leftover {
        // A direct descriptor's slot is its host's to close (the op does not keep which).
        if self.direct.is_some() {
            return Leftover::Nothing;
        }
        Leftover::fd(result)
    }
}
