use crate::complete::JsBatch;
use crate::js::JsBuf;
use crate::wire::STAT_FIELDS;
use boros::io_uring::squeue::Entry;
use boros::op::{self, OpCode};
use boros::Complete;
use boros::Cqe;

/// A statx whose result is written into the caller's `Float64Array` (a stat record of
/// [`STAT_FIELDS`] numbers, in the order of `wire::STAT_FIELD_NAMES`) at completion.
pub struct StatOut {
    statx: op::Statx,
    out: JsBuf,
    token: u32,
}

impl StatOut {
    /// `statx`, reporting into `out` (checked to hold a stat record).
    pub fn new(statx: op::Statx, out: JsBuf, token: u32) -> crate::js::Result<Box<Self>> {
        if out.len() < STAT_FIELDS * 8 {
            return Err(crate::js::error(
                crate::js::codes::OUT_OF_RANGE,
                "stat output array too short",
            ));
        }
        Ok(Box::new(Self { statx, out, token }))
    }
}

// SAFETY: delegates to `op::Statx`, which owns its path and result buffer.
unsafe impl OpCode for StatOut {
    fn entry(&mut self) -> Entry {
        self.statx.entry()
    }
}

impl Complete<JsBatch<'_>> for StatOut {
    fn complete(self: Box<Self>, cqe: &Cqe, cx: &mut JsBatch<'_>) {
        let mut result = cqe.result;
        if result == 0 {
            // SAFETY: JS thread, inside the poll callback's handle scope.
            match unsafe { self.out.current() } {
                Some((ptr, len)) if len >= STAT_FIELDS * 8 && ptr as usize % 8 == 0 => {
                    // SAFETY: the Float64Array has at least STAT_FIELDS slots and is 8-byte
                    // aligned (checked just above).
                    let out =
                        unsafe { std::slice::from_raw_parts_mut(ptr.cast::<f64>(), STAT_FIELDS) };
                    fill(out, self.statx.result());
                }
                _ => result = -libc::EFAULT,
            }
        }
        cx.settle(self.token, result);
    }
}

/// Writes a statx result in the order of `wire::STAT_FIELD_NAMES`.
fn fill(out: &mut [f64], s: &libc::statx) {
    let dev = libc::makedev(s.stx_dev_major, s.stx_dev_minor);
    let rdev = libc::makedev(s.stx_rdev_major, s.stx_rdev_minor);
    let fields: [f64; STAT_FIELDS] = [
        dev as f64,
        s.stx_mode as f64,
        s.stx_nlink as f64,
        s.stx_uid as f64,
        s.stx_gid as f64,
        rdev as f64,
        s.stx_blksize as f64,
        s.stx_ino as f64,
        s.stx_size as f64,
        s.stx_blocks as f64,
        s.stx_atime.tv_sec as f64,
        s.stx_atime.tv_nsec as f64,
        s.stx_mtime.tv_sec as f64,
        s.stx_mtime.tv_nsec as f64,
        s.stx_ctime.tv_sec as f64,
        s.stx_ctime.tv_nsec as f64,
        s.stx_btime.tv_sec as f64,
        s.stx_btime.tv_nsec as f64,
    ];
    out.copy_from_slice(&fields);
}
