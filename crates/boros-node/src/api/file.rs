//! Operations on an open file. A file is named by a kind and a number (`fileKind`, `file`:
//! a descriptor, or a slot of the ring's registered file table — see [`crate::wire::FileKind`]),
//! checked by [`args::file`] and carried as a [`Target`](boros::op::Target) to the SQE
//! (`IOSQE_FIXED_FILE` for a slot). Calls that only exist for descriptors (`statx` of an open
//! file, `installFd`'s result) take a descriptor and say so in their types.

use crate::args::{self, cstring};
use crate::js::{self, codes, JsBuf, Result};
use crate::ops::{CloseFixed, OpenFixed, Passthrough, ReadCopy, StatOut};
use crate::runtime;
use boros::op::{self, Target};
use napi::bindgen_prelude::*;
use napi_derive::napi;

fn non_negative(value: i64, name: &str) -> Result<u64> {
    u64::try_from(value).map_err(|_| {
        js::error(
            codes::OUT_OF_RANGE,
            format!("The value of \"{name}\" is out of range. It must be >= 0. Received {value}"),
        )
    })
}

/// Pins `buffer` (an argument of the current call) for an op on bytes `offset..offset+length`,
/// checked to lie inside it.
fn pin_range(env: &Env, buffer: &Unknown, offset: u32, length: u32) -> Result<JsBuf> {
    // SAFETY: `buffer` is an argument of the current call, on the JS thread of `env`.
    let pinned = unsafe { JsBuf::new(env.raw(), buffer.raw())? };
    args::check_range(offset, length, pinned.len())?;
    Ok(pinned)
}

/// Queues a read of `length` bytes at `position` (-1: the current position) of the file into
/// `buffer[offset..]`, through an op-owned bounce buffer copied out at completion (the kernel
/// never writes into JS memory). Returns the op's key (for `cancel`).
#[napi]
#[allow(clippy::too_many_arguments)]
pub fn read(
    env: Env,
    file_kind: u32,
    file: u32,
    #[napi(ts_arg_type = "ArrayBufferView")] buffer: Unknown,
    offset: u32,
    length: u32,
    position: i64,
    token: u32,
) -> Result<f64> {
    let (file, pos) = args::file_at(file_kind, file, position)?;
    let target = pin_range(&env, &buffer, offset, length)?;
    runtime::with(|rt| {
        let bounce = rt.bounce.take(length as usize);
        let op = ReadCopy::new(file, bounce, length, pos, target, offset as usize, token);
        rt.queue(op)
    })
}

/// Queues a write of `buffer[offset..offset+length]` at `position` (-1: the current position).
/// The buffer is held (not copied) until the write completes. `punt`: submit it with
/// `IOSQE_ASYNC` (straight to an io-wq worker, skipping the non-blocking attempt).
#[napi]
#[allow(clippy::too_many_arguments)]
pub fn write(
    env: Env,
    file_kind: u32,
    file: u32,
    #[napi(ts_arg_type = "ArrayBufferView")] buffer: Unknown,
    offset: u32,
    length: u32,
    position: i64,
    token: u32,
    punt: Option<bool>,
) -> Result<f64> {
    let (file, pos) = args::file_at(file_kind, file, position)?;
    let source = pin_range(&env, &buffer, offset, length)?;
    let op = op::Write::new(file, source, pos).range(offset as usize, length);
    runtime::with(|rt| rt.queue_punted(Passthrough::new(op, token), punt == Some(true)))
}

/// Queues `pwritev` of `buffers` at `position` (-1: the current position). Each buffer is held
/// (not copied) until the write completes. Completes with the bytes written.
#[napi]
pub fn writev(
    env: Env,
    file_kind: u32,
    file: u32,
    #[napi(ts_arg_type = "ArrayBufferView[]")] buffers: Vec<Unknown>,
    position: i64,
    token: u32,
) -> Result<f64> {
    let (file, pos) = args::file_at(file_kind, file, position)?;
    let bufs = buffers
        .iter()
        // SAFETY: every element is a value of this call's arguments, on the JS thread.
        .map(|b| unsafe { JsBuf::new(env.raw(), b.raw()) })
        .collect::<Result<Vec<_>>>()?;
    runtime::with(|rt| rt.queue(Passthrough::new(op::Writev::new(file, bufs, pos), token)))
}

/// Queues `openat(AT_FDCWD, path, flags | O_CLOEXEC, mode)`; completes with the descriptor.
#[napi]
pub fn open(path: String, flags: i32, mode: u32, token: u32) -> Result<f64> {
    let op = op::OpenAt::new(cstring(path, "path")?, flags, mode);
    runtime::with(|rt| rt.queue(Passthrough::new(op, token)))
}

/// Queues an open of `path` into a free slot of this ring's registered file table (a direct
/// descriptor, Linux 5.15); completes with the slot, or `-errno` (the slot is given back).
/// Completes with `-ENFILE` at once, queuing nothing, when the table has no free slot (or the
/// kernel has no table): then open a descriptor instead.
#[napi]
pub fn open_fixed(path: String, flags: i32, mode: u32, token: u32) -> Result<f64> {
    let path = cstring(path, "path")?;
    runtime::with(|rt| {
        let Some(slot) = rt.driver.alloc_file_slot() else {
            rt.settle_now(token, -libc::ENFILE);
            return Ok(-1.0);
        };
        let op = op::OpenAt::new(path, flags, mode).direct(slot);
        let queued = rt.queue(OpenFixed::new(op, slot, token));
        if queued.is_err() {
            rt.driver.free_file_slot(slot);
        }
        queued
    })
}

/// Queues the close of the file. A slot is given back once its close completed.
#[napi]
pub fn close(file_kind: u32, file: u32, token: u32) -> Result<f64> {
    let file = args::file(file_kind, file)?;
    runtime::with(|rt| match file {
        Target::Fd(fd) => {
            // Even a failed close releases the number: it is no longer ours to close.
            crate::fds::disown(fd);
            // libuv stops watching it first, if the readiness slot's receive is on it.
            rt.readiness_forget_fd(fd);
            rt.queue(Passthrough::new(op::Close::new(fd), token))
        }
        Target::Fixed(slot) => rt.queue(CloseFixed::new(slot, Some(token))),
    })
}

/// Queues `fsync`, or `fdatasync` when `datasync` is true.
#[napi]
pub fn fsync(file_kind: u32, file: u32, datasync: bool, token: u32) -> Result<f64> {
    let file = args::file(file_kind, file)?;
    let mut op = op::Fsync::new(file);
    if datasync {
        op = op.datasync();
    }
    runtime::with(|rt| rt.queue(Passthrough::new(op, token)))
}

/// Queues `ftruncate` (Linux 6.9). On older kernels this throws `ERR_BOROS_UNSUPPORTED_OP`
/// naming 6.9; the façade checks `ringInfo().ops` first.
#[napi]
pub fn ftruncate(file_kind: u32, file: u32, len: i64, token: u32) -> Result<f64> {
    let file = args::file(file_kind, file)?;
    let op = op::Ftruncate::new(file, non_negative(len, "len")?);
    runtime::with(|rt| rt.queue(Passthrough::new(op, token)))
}

/// Queues `fallocate(file, mode, offset, len)` (Linux 5.6).
#[napi]
pub fn fallocate(
    file_kind: u32,
    file: u32,
    mode: i32,
    offset: i64,
    len: i64,
    token: u32,
) -> Result<f64> {
    let file = args::file(file_kind, file)?;
    let op = op::Fallocate::new(
        file,
        non_negative(offset, "offset")?,
        non_negative(len, "len")?,
    )
    .mode(mode);
    runtime::with(|rt| rt.queue(Passthrough::new(op, token)))
}

/// Queues `posix_fadvise(file, offset, len, advice)` (Linux 5.6).
#[napi]
pub fn fadvise(
    file_kind: u32,
    file: u32,
    offset: i64,
    len: i64,
    advice: i32,
    token: u32,
) -> Result<f64> {
    let file = args::file(file_kind, file)?;
    non_negative(len, "len")?;
    let op = op::Fadvise::new(file, non_negative(offset, "offset")?, len, advice);
    runtime::with(|rt| rt.queue(Passthrough::new(op, token)))
}

/// Queues `sync_file_range(file, offset, len, SYNC_FILE_RANGE_WRITE)` (Linux 5.2): starts the
/// write-back of the range's dirty pages and does not wait for it (`len` 0: to the end of the
/// file). The write-behind of large buffered writes (src-ts/fs/write-behind.ts).
#[napi]
pub fn start_writeback(
    file_kind: u32,
    file: u32,
    offset: i64,
    len: u32,
    token: u32,
) -> Result<f64> {
    let file = args::file(file_kind, file)?;
    let offset = non_negative(offset, "offset")?;
    let op = op::SyncFileRange::new(file, offset, len, libc::SYNC_FILE_RANGE_WRITE);
    runtime::with(|rt| rt.queue(Passthrough::new(op, token)))
}

/// Starts the write-back of `len` bytes (0: to the end of the file) of descriptor `fd` from
/// `offset` on idle CPU: `sync_file_range(SYNC_FILE_RANGE_WRITE)` on a `SCHED_IDLE` thread
/// (see idle_writeback.rs). Not an op: nothing completes; returns whether it was queued. The
/// default write-behind of files nothing is known to sync.
#[napi]
pub fn start_writeback_idle(fd: i32, offset: i64, len: u32) -> Result<bool> {
    let fd = args::fd(fd)?;
    let offset = non_negative(offset, "offset")?;
    Ok(crate::idle_writeback::start(
        fd,
        i64::try_from(offset).unwrap_or(i64::MAX),
        i64::from(len),
    ))
}

/// Queues `statx` of `path`, or of the descriptor `fd` when `path` is null (a registered-file
/// slot has no statx: install a descriptor for it first, see `installFd`), and writes the result
/// into `out`, a stat record (`wire::STAT_FIELD_NAMES`).
#[napi]
pub fn statx(
    env: Env,
    path: Option<String>,
    fd: i32,
    follow: bool,
    #[napi(ts_arg_type = "Float64Array")] out: Unknown,
    token: u32,
) -> Result<f64> {
    let statx = match path {
        Some(p) => op::Statx::path(cstring(p, "path")?, follow),
        None => op::Statx::fd(args::fd(fd)?),
    };
    // SAFETY: `out` is an argument of this call, on the JS thread.
    let out = unsafe { JsBuf::new(env.raw(), out.raw())? };
    let op = StatOut::new(statx, out, token)?;
    runtime::with(|rt| rt.queue(op))
}

/// Queues `IORING_OP_FIXED_FD_INSTALL` (Linux 6.8): a descriptor (`O_CLOEXEC`) for the file in
/// registered-file `slot`, for calls that need one (statx, fchmod...). Completes with the new
/// descriptor, which the caller closes; the slot stays open.
#[napi]
pub fn install_fd(slot: u32, token: u32) -> Result<f64> {
    runtime::with(|rt| rt.queue(Passthrough::new(op::FixedFdInstall::new(slot), token)))
}

/// Descriptor `fd` (a `FileHandle`'s, opened on the ring) is owned by this thread's boros
/// objects: closed at the env's teardown if boros has not closed it by then (see fds.rs).
#[napi]
pub fn own_fd(fd: i32) {
    crate::fds::own(fd);
}

/// How many descriptors this thread's boros objects own (see fds.rs; for tests).
#[napi]
pub fn owned_fds() -> u32 {
    crate::fds::count() as u32
}

/// Queues a no-op (completes with 0): a round trip through the ring.
#[napi]
pub fn nop(token: u32) -> Result<f64> {
    runtime::with(|rt| rt.queue(Passthrough::new(op::Nop, token)))
}
