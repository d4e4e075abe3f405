//! Binding-side operations: what each JS call lends the kernel, and how its completion is
//! finished (copied out, converted) before the JS promise is settled.
//!
//! The token given to the core is `kind << 32 | js_token`: `kind` says which concrete op type
//! to take back from the completion, `js_token` is the JS side's pending-table index.

use crate::js::JsBuf;
use boros::io_uring::squeue::Entry;
use boros::op::{self, OpCode};
use boros::Completion;

pub const KIND_PLAIN: u64 = 0;
pub const KIND_READ_COPY: u64 = 1;
pub const KIND_STAT: u64 = 2;

pub fn token(kind: u64, js_token: u32) -> u64 {
    (kind << 32) | js_token as u64
}

/// A read into a JS buffer: the kernel writes into `bounce`, owned by the op; at completion
/// the bytes are copied into `target` if it is still attached.
pub struct ReadCopy {
    pub read: op::Read<Vec<u8>>,
    pub target: JsBuf,
    pub target_offset: usize,
}

// SAFETY: delegates to `op::Read`, whose buffer (`bounce`) is owned by this op.
unsafe impl OpCode for ReadCopy {
    fn entry(&mut self) -> Entry {
        self.read.entry()
    }
}

/// Queues a read of `length` bytes at `pos` on `file` into `buffer[offset..]`: the kernel reads
/// into a bounce buffer the op owns, copied into the view at completion (see [`ReadCopy`]).
///
/// # Safety
/// On the JS thread of `env`, with `buffer` a value of the current call.
pub unsafe fn queue_read_copy(
    env: napi::sys::napi_env,
    file: op::Target,
    buffer: napi::sys::napi_value,
    (offset, length, pos): (u32, u32, u64),
    token_id: u32,
) -> crate::js::Result<f64> {
    crate::runtime::with(|rt| {
        // SAFETY: forwarded contract.
        let target = unsafe { JsBuf::new(env, buffer)? };
        crate::args::check_range(offset, length, target.len())?;
        let bounce = rt.bounce.take(length as usize);
        let op = ReadCopy {
            read: op::Read::new(file, bounce, pos).with_len(length),
            target,
            target_offset: offset as usize,
        };
        rt.queue(Box::new(op), token(KIND_READ_COPY, token_id))
    })
}

/// Queues a write of `buffer[offset..offset+length]` at `pos` on `file`; the view is pinned
/// (not copied) until the write completes.
///
/// # Safety
/// As for [`queue_read_copy`].
pub unsafe fn queue_write_pinned(
    env: napi::sys::napi_env,
    file: op::Target,
    buffer: napi::sys::napi_value,
    (offset, length, pos): (u32, u32, u64),
    token_id: u32,
) -> crate::js::Result<f64> {
    crate::runtime::with(|rt| {
        // SAFETY: forwarded contract.
        let source = unsafe { JsBuf::new(env, buffer)? };
        crate::args::check_range(offset, length, source.len())?;
        let op = op::Write::new(file, source, pos).range(offset as usize, length);
        rt.queue(Box::new(op), token(KIND_PLAIN, token_id))
    })
}

/// A statx whose result is written into a JS Float64Array at completion.
pub struct StatOut {
    pub statx: op::Statx,
    pub out: JsBuf,
}

// SAFETY: delegates to `op::Statx`, which owns its path and result buffer.
unsafe impl OpCode for StatOut {
    fn entry(&mut self) -> Entry {
        self.statx.entry()
    }
}

/// Number of f64 slots a stat result fills (see `fill_stat`).
pub const STAT_FIELDS: usize = 18;

/// Finishes a completion and returns the result to report to JS. Returns bounce buffers to
/// `pool`. Must run on the JS thread inside a handle scope.
pub fn finish(mut c: Completion, pool: &mut BouncePool) -> (u32, i32) {
    let js_token = c.token as u32;
    let mut result = c.result;
    match c.token >> 32 {
        KIND_READ_COPY => {
            if let Some(op) = c.take_op::<ReadCopy>() {
                let ReadCopy {
                    read,
                    target,
                    target_offset,
                } = *op;
                let n = result.max(0) as u32;
                let bounce = read.into_buf(n);
                if result > 0 {
                    // SAFETY: JS thread, inside the poll callback's handle scope.
                    match unsafe { target.current() } {
                        Some((ptr, len)) if target_offset + bounce.len() <= len => {
                            // SAFETY: the target is attached and long enough (checked just above);
                            // the bounce buffer is ours; the regions cannot overlap.
                            unsafe {
                                std::ptr::copy_nonoverlapping(
                                    bounce.as_ptr(),
                                    ptr.add(target_offset),
                                    bounce.len(),
                                )
                            };
                        }
                        // Detached (transferred) while the read was in flight.
                        _ => result = -libc::EFAULT,
                    }
                }
                pool.put(bounce);
            }
        }
        KIND_STAT => {
            if let Some(op) = c.take_op::<StatOut>() {
                if result == 0 {
                    // SAFETY: as above.
                    match unsafe { op.out.current() } {
                        Some((ptr, len)) if len >= STAT_FIELDS * 8 => {
                            // SAFETY: the Float64Array has at least STAT_FIELDS slots; JS
                            // typed arrays are 8-byte aligned for f64.
                            let out = unsafe {
                                std::slice::from_raw_parts_mut(ptr.cast::<f64>(), STAT_FIELDS)
                            };
                            fill_stat(out, op.statx.result());
                        }
                        _ => result = -libc::EFAULT,
                    }
                }
            }
        }
        _ => {}
    }
    (js_token, result)
}

/// Writes a statx result in the order the façade's Stats reads it.
fn fill_stat(out: &mut [f64], s: &libc::statx) {
    let dev = libc::makedev(s.stx_dev_major, s.stx_dev_minor);
    let rdev = libc::makedev(s.stx_rdev_major, s.stx_rdev_minor);
    let fields = [
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

/// Recycled bounce buffers, by power-of-two size class from 4 KiB to 1 MiB.
pub struct BouncePool {
    classes: Vec<Vec<Vec<u8>>>,
}

const MIN_SHIFT: u32 = 12;
const MAX_SHIFT: u32 = 20;
const KEEP_PER_CLASS: usize = 256;

impl BouncePool {
    pub fn new() -> Self {
        Self {
            classes: (MIN_SHIFT..=MAX_SHIFT).map(|_| Vec::new()).collect(),
        }
    }

    fn class(len: usize) -> Option<usize> {
        let shift = len.max(1 << MIN_SHIFT).next_power_of_two().trailing_zeros();
        (shift <= MAX_SHIFT).then(|| (shift - MIN_SHIFT) as usize)
    }

    /// An empty Vec with capacity for at least `len` bytes.
    pub fn take(&mut self, len: usize) -> Vec<u8> {
        match Self::class(len) {
            Some(c) => self.classes[c]
                .pop()
                .unwrap_or_else(|| Vec::with_capacity(1 << (c as u32 + MIN_SHIFT))),
            None => Vec::with_capacity(len),
        }
    }

    pub fn put(&mut self, mut v: Vec<u8>) {
        v.clear();
        if let Some(c) = Self::class(v.capacity()) {
            if v.capacity() == 1 << (c as u32 + MIN_SHIFT) && self.classes[c].len() < KEEP_PER_CLASS
            {
                self.classes[c].push(v);
            }
        }
    }
}
