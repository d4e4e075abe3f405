//! Which io_uring opcodes this kernel has, and which kernel brought each one.
//!
//! The ring is probed once at setup (`IORING_REGISTER_PROBE`). A probe says an opcode exists,
//! not that every flag of it works: flags are checked by trying them where it matters.

use crate::kernel::KernelVersion;
use io_uring::opcode;

/// One io_uring operation boros uses: its name, opcode and the kernel that added it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpInfo {
    /// The name users see in `runtime().ops` and in errors (`"read"`, `"statx"`).
    pub name: &'static str,
    /// The `IORING_OP_*` number.
    pub opcode: u8,
    /// The first mainline kernel with this opcode.
    pub since: KernelVersion,
}

const fn op(name: &'static str, opcode: u8, major: u16, minor: u16) -> OpInfo {
    OpInfo {
        name,
        opcode,
        since: KernelVersion::new(major, minor, 0),
    }
}

/// Every opcode boros may submit, with the kernel that added it.
pub const OPS: &[OpInfo] = &[
    op("nop", opcode::Nop::CODE, 5, 1),
    op("readv", opcode::Readv::CODE, 5, 1),
    op("writev", opcode::Writev::CODE, 5, 1),
    op("fsync", opcode::Fsync::CODE, 5, 1),
    op("read_fixed", opcode::ReadFixed::CODE, 5, 1),
    op("write_fixed", opcode::WriteFixed::CODE, 5, 1),
    op("poll_add", opcode::PollAdd::CODE, 5, 1),
    op("poll_remove", opcode::PollRemove::CODE, 5, 1),
    op("sync_file_range", opcode::SyncFileRange::CODE, 5, 2),
    op("sendmsg", opcode::SendMsg::CODE, 5, 3),
    op("recvmsg", opcode::RecvMsg::CODE, 5, 3),
    op("timeout", opcode::Timeout::CODE, 5, 4),
    op("async_cancel", opcode::AsyncCancel::CODE, 5, 5),
    op("accept", opcode::Accept::CODE, 5, 5),
    op("connect", opcode::Connect::CODE, 5, 5),
    op("link_timeout", opcode::LinkTimeout::CODE, 5, 5),
    op("timeout_remove", opcode::TimeoutRemove::CODE, 5, 5),
    op("fallocate", opcode::Fallocate::CODE, 5, 6),
    op("openat", opcode::OpenAt::CODE, 5, 6),
    op("openat2", opcode::OpenAt2::CODE, 5, 6),
    op("close", opcode::Close::CODE, 5, 6),
    op("files_update", opcode::FilesUpdate::CODE, 5, 6),
    op("statx", opcode::Statx::CODE, 5, 6),
    op("read", opcode::Read::CODE, 5, 6),
    op("write", opcode::Write::CODE, 5, 6),
    op("fadvise", opcode::Fadvise::CODE, 5, 6),
    op("send", opcode::Send::CODE, 5, 6),
    op("recv", opcode::Recv::CODE, 5, 6),
    op("splice", opcode::Splice::CODE, 5, 7),
    op("provide_buffers", opcode::ProvideBuffers::CODE, 5, 7),
    op("tee", opcode::Tee::CODE, 5, 8),
    op("shutdown", opcode::Shutdown::CODE, 5, 11),
    op("renameat", opcode::RenameAt::CODE, 5, 11),
    op("unlinkat", opcode::UnlinkAt::CODE, 5, 11),
    op("mkdirat", opcode::MkDirAt::CODE, 5, 15),
    op("symlinkat", opcode::SymlinkAt::CODE, 5, 15),
    op("linkat", opcode::LinkAt::CODE, 5, 15),
    op("msg_ring", opcode::MsgRingData::CODE, 5, 18),
    op("socket", opcode::Socket::CODE, 5, 19),
    op("uring_cmd", opcode::UringCmd16::CODE, 5, 19),
    op("send_zc", opcode::SendZc::CODE, 6, 0),
    op("sendmsg_zc", opcode::SendMsgZc::CODE, 6, 1),
    op("read_multishot", opcode::ReadMulti::CODE, 6, 7),
    op("fixed_fd_install", opcode::FixedFdInstall::CODE, 6, 8),
    op("ftruncate", opcode::Ftruncate::CODE, 6, 9),
    op("bind", opcode::Bind::CODE, 6, 11),
    op("listen", opcode::Listen::CODE, 6, 11),
];

/// Looks an opcode up in [`OPS`].
pub fn info(opcode: u8) -> Option<&'static OpInfo> {
    OPS.iter().find(|o| o.opcode == opcode)
}

/// The opcodes the running kernel supports, as reported by `IORING_REGISTER_PROBE`.
#[derive(Debug, Clone)]
pub struct Support {
    supported: [bool; 256],
}

impl Support {
    pub(crate) fn from_probe(probe: &io_uring::Probe) -> Self {
        let mut supported = [false; 256];
        for (code, slot) in supported.iter_mut().enumerate() {
            *slot = probe.is_supported(code as u8);
        }
        Self { supported }
    }

    /// Whether this kernel has the opcode.
    pub fn has(&self, opcode: u8) -> bool {
        self.supported[opcode as usize]
    }

    /// The boros operations this kernel has, by name, in [`OPS`] order.
    pub fn names(&self) -> Vec<&'static str> {
        OPS.iter()
            .filter(|o| self.has(o.opcode))
            .map(|o| o.name)
            .collect()
    }
}
