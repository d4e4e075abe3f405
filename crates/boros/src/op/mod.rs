//! Operations: one file per kernel operation, all under one safety contract, [`OpCode`].
//!
//! Files: [`OpenAt`], [`Read`], [`Write`], [`Statx`], [`Close`], ... Sockets: [`Socket`],
//! [`Bind`], [`Listen`], [`Accept`], [`AcceptMulti`], [`Connect`], [`Send`], [`SendMsg`],
//! [`SendZc`], [`Recv`], [`RecvMulti`], [`Shutdown`], [`SetSockOpt`], [`GetSockOpt`]; and
//! [`PollAdd`], [`Timeout`], [`LinkTimeout`] (see [`net`](crate::net) for the kernels they need,
//! how multishot ops end, and what a cancel may still deliver).
//!
//! Lifecycle of an op inside the [`Driver`](crate::Driver):
//! 1. **queued** — [`Driver::push`](crate::Driver::push) boxes the op, so its address is fixed,
//!    then asks it for its SQE and places that in the submission queue;
//! 2. **submitted** — the next `io_uring_enter` hands the SQE to the kernel;
//! 3. **cancelling** (optional) — [`Driver::cancel`](crate::Driver::cancel) queued an
//!    `ASYNC_CANCEL`; the op still owns its memory, because the kernel may still touch it;
//! 4. **completed** — its final CQE arrived; the driver removes the op from its slab and hands
//!    it back, with its buffers, in a [`Completion`](crate::Completion).
//!
//! Nothing in between lets the op's memory go: an owner that loses interest
//! [abandons](crate::Driver::abandon) the op (the driver cancels it, keeps it to its final CQE,
//! and releases what late completions bring back: [`OpCode::leftover`]), and dropping the
//! driver waits for every final CQE first. A host whose ops finish themselves implements
//! [`Complete`](crate::Complete) for them.

use io_uring::squeue::Entry;
use std::any::Any;
use std::os::fd::RawFd;

mod accept;
mod accept_multi;
mod bind;
mod close;
mod connect;
mod fadvise;
mod fallocate;
mod fd_install;
mod fsync;
mod ftruncate;
mod getsockopt;
mod link;
mod link_timeout;
mod listen;
mod mkdir;
mod nop;
mod open;
mod place;
mod poll_add;
mod read;
mod read_multi;
mod readv;
mod recv;
mod recv_multi;
mod rename;
mod send;
mod send_zc;
mod sendmsg;
mod setsockopt;
mod shutdown;
mod socket;
mod statx;
mod symlink;
mod sync_range;
mod timeout;
mod unlink;
mod vectored;
mod write;
mod writev;

pub use accept::Accept;
pub use accept_multi::AcceptMulti;
pub use bind::Bind;
pub use close::Close;
pub use connect::Connect;
pub use fadvise::Fadvise;
pub use fallocate::Fallocate;
pub use fd_install::FixedFdInstall;
pub use fsync::Fsync;
pub use ftruncate::Ftruncate;
pub use getsockopt::GetSockOpt;
pub use link::LinkAt;
pub use link_timeout::LinkTimeout;
pub use listen::Listen;
pub use mkdir::MkDirAt;
pub use nop::Nop;
pub use open::OpenAt;
pub use poll_add::PollAdd;
pub use read::Read;
pub use read_multi::ReadMulti;
pub use readv::Readv;
pub use recv::Recv;
pub use recv_multi::RecvMulti;
pub use rename::RenameAt;
pub use send::Send;
pub use send_zc::SendZc;
pub use sendmsg::SendMsg;
pub use setsockopt::SetSockOpt;
pub use shutdown::Shutdown;
pub use socket::Socket;
pub use statx::Statx;
pub use symlink::SymlinkAt;
pub use sync_range::SyncFileRange;
pub use timeout::Timeout;
pub use unlink::UnlinkAt;
pub use write::Write;
pub use writev::Writev;

/// One kernel operation and every byte of memory it lends the kernel.
///
/// # Safety
/// Implementors promise that every pointer in the entry returned by [`OpCode::entry`] points
/// into memory owned by `self` (or `'static` memory), valid for the lengths in the entry.
/// The driver calls `entry` only once the op sits in its final heap place, and keeps it there,
/// untouched, until the op's final CQE — so that memory stays valid for the kernel.
pub unsafe trait OpCode: Any {
    /// Builds the submission entry. `user_data` is set by the driver.
    fn entry(&mut self) -> Entry;

    /// The provided-buffer group the op selects buffers from (`IOSQE_BUFFER_SELECT`), if any:
    /// completions carrying a buffer id are matched to that group.
    fn buf_group(&self) -> Option<u16> {
        None
    }

    /// What the op does to a slot of the registered file table, if anything: the driver then
    /// keeps the slot allocator right by itself (see [`SlotUse`]).
    fn file_slot(&self) -> Option<SlotUse> {
        None
    }

    /// What a CQE with `result` brings back that must be released when nobody takes it: the
    /// new descriptor of an open, accept or socket whose owner went away
    /// ([`Driver::abandon`](crate::Driver::abandon)). The driver releases it itself (closes
    /// the descriptor, or the direct slot an open filled), so a late completion leaks nothing
    /// in any host.
    fn leftover(&self, result: i32) -> Leftover {
        let _ = result;
        Leftover::Nothing
    }

    /// Whether the driver arms the op again by itself when it ends with `-ENOBUFS` (its buffer
    /// group ran dry), instead of handing that final CQE to the host: a multishot receive
    /// that loses nothing by stopping (the bytes wait in the socket). The driver then keeps
    /// the op, under the same key, and queues [`entry`](Self::entry) again at the end of the
    /// reap pass, once the pass's buffers are back and the group has grown: oldest first, as
    /// many as the group has buffers in circulation, the others at a later pass's end (see
    /// `reap.rs`); not when the op was cancelled or abandoned (it then gets its final CQE). An op that says yes must build the same
    /// entry every time `entry` is called.
    fn rearm_when_starved(&self) -> bool {
        false
    }
}

/// What a completion brought back that someone must release (see [`OpCode::leftover`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leftover {
    /// Nothing to release.
    Nothing,
    /// A new descriptor in the process's file table: close it.
    Fd(RawFd),
    /// A filled slot of the ring's file table: close it (the driver then frees the slot).
    FixedSlot(u32),
}

impl Leftover {
    /// A plain descriptor when `result` is one (`>= 0`).
    pub fn fd(result: i32) -> Self {
        if result >= 0 {
            Leftover::Fd(result)
        } else {
            Leftover::Nothing
        }
    }
}

/// How an op uses a slot of the ring's registered file table. The driver frees the slot
/// (back to [`Driver::alloc_file_slot`](crate::Driver::alloc_file_slot)) at the op's final
/// CQE, so that every slot is freed exactly once, by the op that emptied it, in both
/// runtimes: a slot an open failed to fill (`Fills`, result `< 0`: an error, a cancel, a
/// broken link), or a slot a close emptied (`Empties`, result `>= 0`). A host that
/// allocated a slot and then could not push its open frees it itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotUse {
    /// The op fills this slot (a direct open).
    Fills(u32),
    /// The op empties this slot (a direct close).
    Empties(u32),
}

impl SlotUse {
    /// The slot to free after a final CQE with `result`, if any.
    pub fn freed_by(self, result: i32) -> Option<u32> {
        match self {
            SlotUse::Fills(slot) if result < 0 => Some(slot),
            SlotUse::Empties(slot) if result >= 0 => Some(slot),
            _ => None,
        }
    }
}

/// The file an op works on: a plain descriptor, or an index in the ring's registered file table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A plain file descriptor.
    Fd(RawFd),
    /// A direct (fixed) descriptor: an index in the registered file table.
    Fixed(u32),
}

impl From<RawFd> for Target {
    fn from(fd: RawFd) -> Self {
        Target::Fd(fd)
    }
}

/// Builds an opcode with either kind of [`Target`].
macro_rules! with_target {
    ($target:expr, |$t:ident| $build:expr) => {
        match $target {
            $crate::op::Target::Fd(fd) => {
                let $t = io_uring::types::Fd(fd);
                $build
            }
            $crate::op::Target::Fixed(i) => {
                let $t = io_uring::types::Fixed(i);
                $build
            }
        }
    };
}
pub(crate) use with_target;

/// The offset that tells read/write ops to use (and advance) the file's current position.
pub const CURRENT_POSITION: u64 = u64::MAX;
