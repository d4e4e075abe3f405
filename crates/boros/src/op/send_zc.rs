use super::{with_target, OpCode, Target};
use crate::buf::IoBuf;
use io_uring::{cqueue, opcode, squeue::Entry};

/// `IORING_SEND_ZC_REPORT_USAGE` (the `io-uring` crate keeps its constants private).
pub(super) const IORING_SEND_ZC_REPORT_USAGE: u16 = 1 << 3;
/// `IORING_NOTIF_USAGE_ZC_COPIED`: set in a notification's result when the data was copied.
const IORING_NOTIF_USAGE_ZC_COPIED: u32 = 1 << 31;

/// Zero-copy `send(2)` (`IORING_OP_SEND_ZC`, Linux 6.0): the kernel sends straight from the
/// owned buffer, without copying it into the socket.
///
/// It posts **two** CQEs for one SQE:
/// 1. the result (bytes sent, or `-errno`), with `IORING_CQE_F_MORE` set — a non-final
///    [`Completion`](crate::Completion) (`is_final()` is false), so the op and its buffer stay in the driver;
/// 2. a notification (`IORING_CQE_F_NOTIF`, no `F_MORE`, result 0) once the kernel no longer
///    reads the buffer. This is the op's final CQE: only now does the driver hand the op
///    (and the buffer) back. Tell the two apart with [`SendZc::is_notification`].
///    With [`Driver::reap`](crate::Driver::reap) the result CQE comes with the op
///    live (`&mut`), the notification with the op by value.
///
/// The driver counts completions per op (an op is final when a CQE lacks `F_MORE`), so no
/// driver change is needed for this. When the kernel fails the request before it could set
/// up a notification, there is a single CQE without `F_MORE`: the result, final at once.
///
/// Zero copy pays for large sends (tens of KiB); on loopback the kernel copies anyway
/// ([`SendZc::copied`] tells, with [`report_usage`](SendZc::report_usage)).
/// `MSG_NOSIGNAL` is always set.
pub struct SendZc<B: IoBuf> {
    target: Target,
    buf: B,
    flags: i32,
    zc_flags: u16,
}

impl<B: IoBuf> SendZc<B> {
    /// Sends the buffer's initialized bytes without copying them.
    pub fn new(target: impl Into<Target>, buf: B) -> Self {
        Self {
            target: target.into(),
            buf,
            flags: libc::MSG_NOSIGNAL,
            zc_flags: 0,
        }
    }

    /// Adds `send(2)` flags.
    pub fn flags(mut self, flags: i32) -> Self {
        self.flags |= flags;
        self
    }

    /// Asks the kernel to say in the notification whether it had to copy after all
    /// (`IORING_SEND_ZC_REPORT_USAGE`, 6.2); read it with [`SendZc::copied`].
    pub fn report_usage(mut self) -> Self {
        self.zc_flags |= IORING_SEND_ZC_REPORT_USAGE;
        self
    }

    /// Whether a CQE with these flags ([`Completion::flags`](crate::Completion::flags), [`Cqe::flags`]) is the
    /// notification (the final CQE: the kernel no longer reads the buffer).
    ///
    /// [`Cqe::flags`]: crate::Cqe::flags
    pub fn is_notification(flags: u32) -> bool {
        cqueue::notif(flags)
    }

    /// For the notification of an op with [`report_usage`](SendZc::report_usage) (its
    /// `result` and `flags`): whether the kernel copied the data instead of sending from the
    /// buffer.
    pub fn copied(result: i32, flags: u32) -> bool {
        Self::is_notification(flags) && (result as u32) & IORING_NOTIF_USAGE_ZC_COPIED != 0
    }

    /// Gives the buffer back.
    pub fn into_buf(self) -> B {
        self.buf
    }
}

// SAFETY: the pointer and length come from the owned buffer; the op (and the buffer) stays
// in the driver until the final CQE, which for SEND_ZC is the notification that the kernel
// no longer reads the buffer.
unsafe impl<B: IoBuf> OpCode for SendZc<B> {
    fn entry(&mut self) -> Entry {
        let len = self.buf.bytes_init().min(u32::MAX as usize) as u32;
        let ptr = self.buf.stable_ptr();
        with_target!(self.target, |t| opcode::SendZc::new(t, ptr, len)
            .flags(self.flags)
            .zc_flags(self.zc_flags)
            .build())
    }
}
