//! Files on io_uring, in the owned-buffer style: an op takes its buffer by value and gives it
//! back with the result, `(io::Result<usize>, B)`, so a dropped future can never leave the
//! kernel writing into freed memory.
//!
//! ```no_run
//! use boros_rt::fs::File;
//! # boros_rt::block_on(async {
//! let file = File::open("/etc/hostname").await?;
//! let (n, buf) = file.read_at(Vec::with_capacity(4096), 0).await;
//! println!("{} bytes: {}", n?, String::from_utf8_lossy(&buf));
//! file.close().await?;
//! # Ok::<(), std::io::Error>(())
//! # })?;
//! # Ok::<(), std::io::Error>(())
//! ```

use crate::buf::Slice;
pub use crate::copy::copy;
use crate::file::cpath;
pub use crate::file::{File, OpenOptions};
use crate::metadata::statx;
pub use crate::metadata::Metadata;
use crate::op::run_unit;
pub use crate::vectored::read_dir;
use boros::op;
/// `preadv(2)` into owned buffers (the core's op; [`File::read_vectored_at`] sets each
/// `Vec`'s length to its share).
pub use boros::op::Readv;
use std::io;
use std::path::Path;

/// Metadata of `path`, following symlinks.
pub async fn metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    statx(op::Statx::path(cpath(path.as_ref())?, true), "fs::metadata").await
}

/// Metadata of `path` itself (a symlink is not followed).
pub async fn symlink_metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    statx(
        op::Statx::path(cpath(path.as_ref())?, false),
        "fs::symlink_metadata",
    )
    .await
}

/// Reads a whole file: open, statx for the size, reads until end of file, close.
pub async fn read(path: impl AsRef<Path>) -> io::Result<Vec<u8>> {
    let file = File::open(path).await?;
    let size = file.metadata().await.map(|m| m.len()).unwrap_or(0) as usize;
    let mut buf: Vec<u8> = Vec::with_capacity(size.max(4096) + 1);
    let mut pos = 0usize;
    loop {
        if buf.len() == buf.capacity() {
            buf.reserve(buf.capacity().max(4096));
        }
        let have = buf.len();
        let cap = buf.capacity();
        let (r, slice) = file.read_at(Slice::new(buf, have, cap), pos as u64).await;
        buf = slice.into_inner();
        match r {
            Ok(0) => break,
            Ok(n) => pos += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    file.close().await?;
    Ok(buf)
}

/// Writes `contents` to `path`, creating or truncating it.
pub async fn write(path: impl AsRef<Path>, contents: impl Into<Vec<u8>>) -> io::Result<()> {
    let file = File::create(path).await?;
    let (r, _) = file.write_all_at(contents.into(), 0).await;
    r?;
    file.close().await
}

/// Removes a file (`unlinkat`).
pub async fn remove_file(path: impl AsRef<Path>) -> io::Result<()> {
    run_unit(op::UnlinkAt::new(cpath(path.as_ref())?), "fs::remove_file").await
}

/// Removes an empty directory (`unlinkat` with `AT_REMOVEDIR`).
pub async fn remove_dir(path: impl AsRef<Path>) -> io::Result<()> {
    run_unit(op::UnlinkAt::dir(cpath(path.as_ref())?), "fs::remove_dir").await
}

/// Renames `from` to `to`, replacing `to` (`renameat2`).
pub async fn rename(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<()> {
    run_unit(
        op::RenameAt::new(cpath(from.as_ref())?, cpath(to.as_ref())?),
        "fs::rename",
    )
    .await
}

/// Creates a directory, mode 0o777 minus the umask (`mkdirat`).
pub async fn create_dir(path: impl AsRef<Path>) -> io::Result<()> {
    run_unit(
        op::MkDirAt::new(cpath(path.as_ref())?, 0o777),
        "fs::create_dir",
    )
    .await
}
