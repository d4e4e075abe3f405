use super::OpCode;
use io_uring::{opcode, squeue::Entry, types};

/// `socket(2)` on the ring (`IORING_OP_SOCKET`, Linux 5.19): the CQE's result is the new
/// descriptor (with `SOCK_CLOEXEC`), or with [`direct`](Socket::direct) a slot in the
/// registered file table. [`net::socket`](crate::net::socket) is the plain system call.
pub struct Socket {
    domain: i32,
    ty: i32,
    protocol: i32,
    direct: bool,
}

impl Socket {
    /// A socket of `domain` (`AF_INET`, `AF_INET6`, `AF_UNIX`), `ty` (`SOCK_STREAM`, ...,
    /// optionally `| SOCK_NONBLOCK`) and `protocol` (0 for the default).
    pub fn new(domain: i32, ty: i32, protocol: i32) -> Self {
        Self {
            domain,
            ty: ty | libc::SOCK_CLOEXEC,
            protocol,
            direct: false,
        }
    }

    /// Installs the socket in a free slot of the registered file table instead of the
    /// process's descriptor table (the result is the slot).
    pub fn direct(mut self) -> Self {
        self.direct = true;
        // Direct descriptors have no close-on-exec flag; the kernel rejects it for them.
        self.ty &= !libc::SOCK_CLOEXEC;
        self
    }
}

// SAFETY: a socket op carries no pointers.
unsafe impl OpCode for Socket {
    fn entry(&mut self) -> Entry {
        let op = opcode::Socket::new(self.domain, self.ty, self.protocol);
        if self.direct {
            op.file_index(Some(types::DestinationSlot::auto_target()))
                .build()
        } else {
            op.build()
        }
    }
}
