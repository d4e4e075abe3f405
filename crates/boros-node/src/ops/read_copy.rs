use crate::bounce::Bounce;
use crate::complete::JsBatch;
use crate::js::JsBuf;
use boros::io_uring::squeue::Entry;
use boros::op::{self, OpCode};
use boros::Complete;
use boros::Cqe;

/// A read into a JS buffer: the kernel writes into `bounce`, owned by the op; at completion
/// the bytes are copied into `target` if it is still attached (a detached, transferred target
/// fails the read with `EFAULT`, as a read into a bad address would).
pub struct ReadCopy {
    read: op::Read<Bounce>,
    target: JsBuf,
    target_offset: usize,
    token: u32,
}

impl ReadCopy {
    /// A read of `len` bytes at `pos` of `file` through `bounce`, for `target[offset..]`.
    pub fn new(
        file: op::Target,
        bounce: Bounce,
        len: u32,
        pos: u64,
        target: JsBuf,
        target_offset: usize,
        token: u32,
    ) -> Box<Self> {
        Box::new(Self {
            read: op::Read::new(file, bounce, pos).with_len(len),
            target,
            target_offset,
            token,
        })
    }
}

// SAFETY: delegates to `op::Read`, whose buffer (`bounce`) is owned by this op.
unsafe impl OpCode for ReadCopy {
    fn entry(&mut self) -> Entry {
        self.read.entry()
    }
}

impl Complete<JsBatch<'_>> for ReadCopy {
    fn complete(self: Box<Self>, cqe: &Cqe, cx: &mut JsBatch<'_>) {
        let ReadCopy {
            read,
            target,
            target_offset,
            token,
        } = *self;
        let mut result = cqe.result;
        let bounce = read.into_buf(result.max(0) as u32);
        if result > 0 {
            // SAFETY: JS thread, inside the poll callback's handle scope (NodeOp's contract).
            match unsafe { target.current() } {
                Some((ptr, len)) if target_offset + bounce.len() <= len => {
                    // SAFETY: the target is attached and long enough (checked just above); the
                    // bounce buffer is ours; the regions cannot overlap.
                    unsafe {
                        std::ptr::copy_nonoverlapping(
                            bounce.as_slice().as_ptr(),
                            ptr.add(target_offset),
                            bounce.len(),
                        )
                    };
                }
                // Detached (transferred) while the read was in flight.
                _ => result = -libc::EFAULT,
            }
        }
        cx.bounce.put(bounce);
        cx.settle(token, result);
    }
}
