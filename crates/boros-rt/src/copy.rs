//! `fs::copy`: several reads and writes in flight at once.

use crate::file::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::rc::Rc;

/// Bytes per chunk.
pub(crate) const CHUNK: u64 = 1 << 20;
/// Chunks in flight.
pub(crate) const IN_FLIGHT: u64 = 8;

/// Copies the contents of `from` to `to` (created or truncated), and `from`'s permission
/// bits, like `std::fs::copy`; returns the bytes copied.
///
/// The copy itself is the kernel's (`copy_file_range(2)`: no byte crosses into user space,
/// and a reflink on filesystems that share extents), run on a helper thread so the loop
/// goes on meanwhile: io_uring has no op for it. Where the kernel refuses it (`EXDEV`
/// across some filesystems, `EINVAL`/`EOPNOTSUPP` for special files), the copy runs on the
/// ring: 8 workers each copy every 8th chunk of 1 MiB
/// (`read_exact_at` then `write_all_at` on its own buffer), so reads and writes of several
/// chunks are in the kernel at once.
///
/// Dropping the future does not stop a kernel copy already running on the helper thread
/// (it owns duplicates of both descriptors and finishes, or fails, on its own).
///
/// # Errors
/// Any open, read or write error (the destination is then left partly written).
pub async fn copy(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<u64> {
    let src = Rc::new(File::open(from).await?);
    let meta = src.metadata().await?;
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "fs::copy: the source is not a regular file",
        ));
    }
    let len = meta.len();
    let dst = Rc::new(
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(meta.mode() & 0o7777)
            .open(to)
            .await?,
    );
    // Duplicates: the helper thread owns its descriptors, even if this future is dropped.
    let (src_fd, dst_fd) = (dup(src.as_raw_fd())?, dup(dst.as_raw_fd())?);
    let kernel = crate::blocking::unblock(move || copy_file_range_all(&src_fd, &dst_fd, len)).await;
    match kernel {
        Ok(()) => return finish(&dst, meta.mode()).map(|()| len),
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::EXDEV | libc::EINVAL | libc::EOPNOTSUPP | libc::ENOSYS)
            ) => {}
        Err(e) => return Err(e),
    }
    ring_copy(src, dst.clone(), len).await?;
    finish(&dst, meta.mode()).map(|()| len)
}

fn dup(fd: std::os::fd::RawFd) -> io::Result<std::os::fd::OwnedFd> {
    // SAFETY: the descriptor is open for the duration of the call (its File is alive).
    unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) }.try_clone_to_owned()
}

/// `copy_file_range` from offset 0 until `len` bytes went (or the source ended). Fails
/// only before the first byte for the errors the caller falls back on.
fn copy_file_range_all(
    src: &std::os::fd::OwnedFd,
    dst: &std::os::fd::OwnedFd,
    len: u64,
) -> io::Result<()> {
    let (mut off_in, mut off_out) = (0i64, 0i64);
    while (off_in as u64) < len {
        let want = ((len - off_in as u64).min(1 << 30)) as usize;
        // SAFETY: both descriptors are ours; the offsets are locals the kernel updates.
        let n = unsafe {
            libc::copy_file_range(
                src.as_raw_fd(),
                &mut off_in,
                dst.as_raw_fd(),
                &mut off_out,
                want,
                0,
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            if off_in > 0 {
                // Part copied: not a refusal to fall back on.
                return Err(io::Error::new(e.kind(), e));
            }
            return Err(e);
        }
        if n == 0 {
            break; // the source got shorter
        }
    }
    Ok(())
}

fn finish(dst: &File, mode: u32) -> io::Result<()> {
    // The mode given to open is masked by the umask; std::fs::copy sets it exactly.
    // SAFETY: fchmod takes no pointers; the descriptor is open.
    if unsafe { libc::fchmod(dst.as_raw_fd(), mode & 0o7777) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The ring copy: [`IN_FLIGHT`] chunks of [`CHUNK`] in flight.
pub(crate) async fn ring_copy(src: Rc<File>, dst: Rc<File>, len: u64) -> io::Result<()> {
    let chunks = len.div_ceil(CHUNK);
    let mut set = crate::JoinSet::new();
    for w in 0..IN_FLIGHT.min(chunks) {
        let (src, dst) = (src.clone(), dst.clone());
        set.spawn(async move {
            let mut buf = Vec::with_capacity(CHUNK as usize);
            let mut c = w;
            while c < chunks {
                let pos = c * CHUNK;
                let want = CHUNK.min(len - pos) as usize;
                buf.clear();
                let (r, b) = src
                    .read_exact_at(crate::buf::Slice::new(buf, 0, want), pos)
                    .await;
                buf = b.into_inner();
                r?;
                let (r, b) = dst.write_all_at(buf, pos).await;
                buf = b;
                r?;
                c += IN_FLIGHT;
            }
            Ok::<(), io::Error>(())
        });
    }
    while let Some(r) = set.join_next().await {
        r??;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    /// The ring path (taken where the kernel refuses `copy_file_range`): several chunks in
    /// flight, the last one short, every byte in place.
    #[test]
    fn ring_copy_copies_every_chunk() {
        let dir = std::env::temp_dir().join(format!("boros-rt-ringcopy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let len = 3 * super::CHUNK * super::IN_FLIGHT / 2 + 12_345;
        let data: Vec<u8> = (0..len).map(|i| (i % 239) as u8).collect();
        std::fs::write(dir.join("src"), &data).unwrap();
        crate::block_on(async {
            let src = std::rc::Rc::new(crate::file::File::open(dir.join("src")).await.unwrap());
            let dst = std::rc::Rc::new(crate::file::File::create(dir.join("dst")).await.unwrap());
            super::ring_copy(src, dst, len).await.unwrap();
        });
        assert!(std::fs::read(dir.join("dst")).unwrap() == data);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
