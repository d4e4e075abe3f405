//! Path operations: rename, unlink/rmdir, mkdir, symlink, link. Each queues one SQE and
//! returns its key; the op owns its paths until its final completion. Results are 0 or
//! `-errno`, delivered like every other completion.

use crate::args::cstring;
use crate::js::Result;
use crate::ops::Passthrough;
use crate::runtime;
use boros::op;
use napi_derive::napi;

/// Queues `renameat(AT_FDCWD, from, AT_FDCWD, to)` (Linux 5.11).
#[napi]
pub fn rename(from: String, to: String, token: u32) -> Result<f64> {
    let op = op::RenameAt::new(cstring(from, "oldPath")?, cstring(to, "newPath")?);
    runtime::with(|rt| rt.queue(Passthrough::new(op, token)))
}

/// Queues `unlinkat(AT_FDCWD, path, dir ? AT_REMOVEDIR : 0)` (Linux 5.11): `unlink`, or
/// `rmdir` when `dir` is true.
#[napi]
pub fn unlink(path: String, dir: bool, token: u32) -> Result<f64> {
    let path = cstring(path, "path")?;
    let op = if dir {
        op::UnlinkAt::dir(path)
    } else {
        op::UnlinkAt::new(path)
    };
    runtime::with(|rt| rt.queue(Passthrough::new(op, token)))
}

/// Queues `mkdirat(AT_FDCWD, path, mode)` (Linux 5.15).
#[napi]
pub fn mkdir(path: String, mode: u32, token: u32) -> Result<f64> {
    let op = op::MkDirAt::new(cstring(path, "path")?, mode);
    runtime::with(|rt| rt.queue(Passthrough::new(op, token)))
}

/// Queues `symlinkat(target, AT_FDCWD, path)` (Linux 5.15).
#[napi]
pub fn symlink(target: String, path: String, token: u32) -> Result<f64> {
    let op = op::SymlinkAt::new(cstring(target, "target")?, cstring(path, "path")?);
    runtime::with(|rt| rt.queue(Passthrough::new(op, token)))
}

/// Queues `linkat(AT_FDCWD, existing, AT_FDCWD, new, 0)` (Linux 5.15).
#[napi]
pub fn link(existing: String, new_path: String, token: u32) -> Result<f64> {
    let op = op::LinkAt::new(
        cstring(existing, "existingPath")?,
        cstring(new_path, "newPath")?,
    );
    runtime::with(|rt| rt.queue(Passthrough::new(op, token)))
}
