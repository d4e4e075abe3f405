//! Exports for path and file-metadata operations: rename, unlink/rmdir, mkdir, symlink,
//! link, fallocate, fadvise, ftruncate and writev. Each queues one SQE and returns its key;
//! the op owns its paths (and buffers) until its final completion. Results are 0 (or a byte
//! count for writev) or `-errno`, delivered like every other completion.

use crate::args::cstring;
use crate::js::{self, codes, JsBuf, Result};
use crate::ops::{token, KIND_PLAIN};
use crate::runtime;
use boros::op::{self, OpCode};
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

/// Queues `op` with a plain result and returns its key.
fn push(op: Box<dyn OpCode>, token_id: u32) -> Result<f64> {
    runtime::with(|rt| rt.queue(op, token(KIND_PLAIN, token_id)))
}

/// Queues `renameat(AT_FDCWD, from, AT_FDCWD, to)` (Linux 5.11).
#[napi]
pub fn rename(from: String, to: String, token_id: u32) -> Result<f64> {
    push(
        Box::new(op::RenameAt::new(
            cstring(from, "oldPath")?,
            cstring(to, "newPath")?,
        )),
        token_id,
    )
}

/// Queues `unlinkat(AT_FDCWD, path, dir ? AT_REMOVEDIR : 0)` (Linux 5.11): `unlink`, or
/// `rmdir` when `dir` is true.
#[napi]
pub fn unlink(path: String, dir: bool, token_id: u32) -> Result<f64> {
    let path = cstring(path, "path")?;
    let op = if dir {
        op::UnlinkAt::dir(path)
    } else {
        op::UnlinkAt::new(path)
    };
    push(Box::new(op), token_id)
}

/// Queues `mkdirat(AT_FDCWD, path, mode)` (Linux 5.15).
#[napi]
pub fn mkdir(path: String, mode: u32, token_id: u32) -> Result<f64> {
    push(
        Box::new(op::MkDirAt::new(cstring(path, "path")?, mode)),
        token_id,
    )
}

/// Queues `symlinkat(target, AT_FDCWD, path)` (Linux 5.15).
#[napi]
pub fn symlink(target: String, path: String, token_id: u32) -> Result<f64> {
    push(
        Box::new(op::SymlinkAt::new(
            cstring(target, "target")?,
            cstring(path, "path")?,
        )),
        token_id,
    )
}

/// Queues `linkat(AT_FDCWD, existing, AT_FDCWD, new, 0)` (Linux 5.15).
#[napi]
pub fn link(existing: String, new_path: String, token_id: u32) -> Result<f64> {
    push(
        Box::new(op::LinkAt::new(
            cstring(existing, "existingPath")?,
            cstring(new_path, "newPath")?,
        )),
        token_id,
    )
}

/// Queues `fallocate(fd, mode, offset, len)` (Linux 5.6).
#[napi]
pub fn fallocate(fd: i32, mode: i32, offset: i64, len: i64, token_id: u32) -> Result<f64> {
    let op = op::Fallocate::new(
        fd,
        non_negative(offset, "offset")?,
        non_negative(len, "len")?,
    )
    .mode(mode);
    push(Box::new(op), token_id)
}

/// Queues `posix_fadvise(fd, offset, len, advice)` (Linux 5.6).
#[napi]
pub fn fadvise(fd: i32, offset: i64, len: i64, advice: i32, token_id: u32) -> Result<f64> {
    non_negative(len, "len")?;
    push(
        Box::new(op::Fadvise::new(
            fd,
            non_negative(offset, "offset")?,
            len,
            advice,
        )),
        token_id,
    )
}

/// Queues `ftruncate(fd, len)` (Linux 6.9). On older kernels this throws
/// `ERR_BOROS_UNSUPPORTED_OP` naming 6.9; the façade checks `ringInfo().ops` first and uses
/// the `ftruncate` system call through node:fs instead.
#[napi]
pub fn ftruncate(fd: i32, len: i64, token_id: u32) -> Result<f64> {
    push(
        Box::new(op::Ftruncate::new(fd, non_negative(len, "len")?)),
        token_id,
    )
}

/// Queues `pwritev(fd, buffers, position)` (-1: the current position). Each buffer is held
/// (not copied) until the write completes. Completes with the bytes written.
#[napi]
pub fn writev(
    env: Env,
    fd: i32,
    buffers: Vec<Unknown>,
    position: i64,
    token_id: u32,
) -> Result<f64> {
    let pos = match position {
        -1 => op::CURRENT_POSITION,
        p => non_negative(p, "position")?,
    };
    let bufs = buffers
        .iter()
        // SAFETY: every element is a value of this call's arguments, on the JS thread.
        .map(|b| unsafe { JsBuf::new(env.raw(), b.raw()) })
        .collect::<Result<Vec<_>>>()?;
    push(Box::new(op::Writev::new(fd, bufs, pos)), token_id)
}
