//! Owned buffers' exported calls (the memory: [`crate::owned`]), and per-descriptor facts
//! (filesystem type, `O_DIRECT`, its alignment) used to route reads.

use crate::args;
use crate::js::{self, codes, Result};
use crate::ops::Passthrough;
use crate::owned::{find_slice, Alloc};
use crate::runtime;
use napi::bindgen_prelude::*;
use napi_derive::napi;

/// A new zero-filled `Buffer` of `size` bytes whose memory is owned natively and starts at a
/// multiple of `alignment` (a power of two). Reads into it (`readOwned`) go straight from the
/// kernel into it.
#[napi(ts_return_type = "Buffer")]
pub fn owned_buffer<'env>(env: &'env Env, size: f64, alignment: u32) -> Result<Unknown<'env>> {
    if !(size >= 0.0 && size <= (isize::MAX as f64) && size.fract() == 0.0) {
        return Err(js::error(
            codes::OUT_OF_RANGE,
            format!("The value of \"size\" is out of range. Received {size}"),
        ));
    }
    if !alignment.is_power_of_two() {
        return Err(js::error(
            codes::INVALID_ARG_VALUE,
            format!("The argument 'alignment' must be a power of two. Received {alignment}"),
        ));
    }
    let len = size as usize;
    let alloc = Alloc::new(len, alignment as usize)
        .ok_or_else(|| js::error(codes::OUT_OF_RANGE, format!("Cannot allocate {len} bytes")))?;
    let data = alloc.as_ptr();
    // SAFETY: this call's env, on its JS thread; `alloc` (an `Rc`) keeps the `len` bytes at
    // `data` mapped until the Buffer is collected.
    let value = unsafe { js::external_buffer(env.raw(), data, len, alloc, true)? };
    // SAFETY: `value` was just created in this env.
    Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), value) })
}

/// Whether `buffer`'s memory lies in a natively owned allocation of this thread.
#[napi]
pub fn is_owned(
    env: Env,
    #[napi(ts_arg_type = "ArrayBufferView")] buffer: Unknown,
) -> Result<bool> {
    // SAFETY: `buffer` is an argument of this call, on the JS thread.
    let (ptr, len) = unsafe { js::view_info(env.raw(), buffer.raw())? };
    Ok(Alloc::find(ptr as usize, len).is_some())
}

/// Queues a read of `length` bytes at `position` (-1: the current position) of the file
/// straight into `buffer[offset..]`, which must be an owned buffer (see `ownedBuffer`).
/// Returns the op's key.
#[napi]
#[allow(clippy::too_many_arguments)]
pub fn read_owned(
    env: Env,
    file_kind: u32,
    file: u32,
    #[napi(ts_arg_type = "Buffer")] buffer: Unknown,
    offset: u32,
    length: u32,
    position: i64,
    token: u32,
) -> Result<f64> {
    let (file, pos) = args::file_at(file_kind, file, position)?;
    // SAFETY: `buffer` is an argument of this call, on the JS thread.
    let (ptr, len) = unsafe { js::view_info(env.raw(), buffer.raw())? };
    args::check_range(offset, length, len)?;
    // The kernel writes `length` bytes from `start`, which `find` checked lie inside one of our
    // allocations; the slice's `Rc` keeps that memory mapped until the op's final CQE, even if
    // JS drops, detaches or transfers the Buffer meanwhile.
    let start = ptr as usize + offset as usize;
    let slice = find_slice(start, length as usize).ok_or_else(|| {
        js::error(
            codes::INVALID_ARG_VALUE,
            "The argument 'buffer' is not a boros owned buffer",
        )
    })?;
    let op = boros::op::Read::new(file, slice, pos).with_len(length);
    runtime::with(|rt| rt.queue(Passthrough::new(op, token)))
}

/// What a descriptor's file is, for routing its reads.
#[napi(object)]
pub struct FdInfo {
    /// `f_type` of `fstatfs(2)` (the filesystem's magic number), or 0 if unknown.
    pub fs_type: f64,
    /// Whether the descriptor was opened with `O_DIRECT`.
    pub o_direct: bool,
    /// `O_DIRECT` buffer alignment (`stx_dio_mem_align`), 0 if unknown.
    pub dio_mem_align: u32,
    /// `O_DIRECT` offset/length alignment (`stx_dio_offset_align`), 0 if unknown.
    pub dio_offset_align: u32,
    /// Whether the file is a regular file (`S_IFREG`; false if unknown).
    pub regular: bool,
    /// The file's identity, `"major:minor:inode"` of its device and inode (`statx`), or `""` if
    /// unknown: the same for every descriptor of one file (write-behind remembers synced files).
    pub file: String,
    /// The file's size in bytes when asked (`stx_size`), 0 if unknown: write-behind starts
    /// the write-back on idle CPU only below it (an in-place overwrite allocates no blocks).
    pub size: f64,
}

/// Facts about `fd`, from `fstatfs`, `fcntl(F_GETFL)` and `statx` (type; alignment for `O_DIRECT`).
/// Synchronous: these calls do not wait on a disk.
#[napi]
pub fn fd_info(fd: i32) -> FdInfo {
    // A negative number is no descriptor: the calls below fail with EBADF and report nothing.
    // SAFETY: plain syscalls on an integer descriptor with out-pointers to locals.
    let (fs_type, flags) = unsafe {
        let mut sfs: libc::statfs = std::mem::zeroed();
        let t = if libc::fstatfs(fd, &mut sfs) == 0 {
            sfs.f_type as u32 as f64
        } else {
            0.0
        };
        (t, libc::fcntl(fd, libc::F_GETFL))
    };
    let o_direct = flags >= 0 && flags & libc::O_DIRECT != 0;
    let (mut mem, mut off, mut regular, mut file, mut size) = (0, 0, false, String::new(), 0.0);
    let mask = libc::STATX_TYPE
        | libc::STATX_INO
        | libc::STATX_SIZE
        | if o_direct { libc::STATX_DIOALIGN } else { 0 };
    // SAFETY: as above.
    unsafe {
        let mut stx: libc::statx = std::mem::zeroed();
        let empty = c"";
        if libc::statx(fd, empty.as_ptr(), libc::AT_EMPTY_PATH, mask, &mut stx) == 0 {
            regular = stx.stx_mask & libc::STATX_TYPE != 0
                && u32::from(stx.stx_mode) & libc::S_IFMT == libc::S_IFREG;
            if stx.stx_mask & libc::STATX_INO != 0 {
                file = format!(
                    "{}:{}:{}",
                    stx.stx_dev_major, stx.stx_dev_minor, stx.stx_ino
                );
            }
            if stx.stx_mask & libc::STATX_SIZE != 0 {
                size = stx.stx_size as f64;
            }
            if o_direct && stx.stx_mask & libc::STATX_DIOALIGN != 0 {
                mem = stx.stx_dio_mem_align;
                off = stx.stx_dio_offset_align;
            }
        }
    }
    FdInfo {
        fs_type,
        o_direct,
        dio_mem_align: mem,
        dio_offset_align: off,
        regular,
        file,
        size,
    }
}
