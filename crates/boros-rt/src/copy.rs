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
/// goes on meanwhile: io_uring has no op for it. On ext4 the destination's blocks are
/// allocated in one `fallocate` once the kernel has taken the first MiB, which makes the copy
/// cheaper than `std::fs::copy`'s (the same `copy_file_range` without it). Where the kernel
/// refuses it (`EXDEV` across some filesystems, `EINVAL`/`EOPNOTSUPP` for special files), the
/// copy runs on the ring: 8 workers each copy every 8th chunk of 1 MiB (`read_exact_at` then
/// `write_all_at` on its own buffer), so reads and writes of several chunks are in the kernel
/// at once. A source whose size is 0 (empty, or a procfs file whose size the kernel does not
/// know) is read on the ring until a read returns 0, like std's fallback.
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
    if len == 0 {
        // Empty, or a file whose size the kernel does not know (procfs, sysfs: statx says 0
        // and copy_file_range copies nothing): read until the end, like std's fallback.
        let n = copy_to_end(&src, &dst).await?;
        return finish(&dst, meta.mode()).map(|()| n);
    }
    // Duplicates: the helper thread owns its descriptors, even if this future is dropped.
    let (src_fd, dst_fd) = (dup(src.as_raw_fd())?, dup(dst.as_raw_fd())?);
    let kernel = crate::blocking::unblock(move || copy_file_range_all(&src_fd, &dst_fd, len)).await;
    match kernel {
        Ok(n) => return finish(&dst, meta.mode()).map(|()| n),
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

/// Reads `src` from its start until a read returns 0, writing each chunk to `dst`; returns the
/// bytes copied.
async fn copy_to_end(src: &File, dst: &File) -> io::Result<u64> {
    let mut buf = Vec::with_capacity(64 * 1024);
    let mut pos = 0u64;
    loop {
        buf.clear();
        let (r, b) = src.read_at(buf, pos).await;
        let n = r? as u64;
        if n == 0 {
            return Ok(pos);
        }
        let (r, b) = dst.write_all_at(b, pos).await;
        r?;
        buf = b;
        pos += n;
    }
}

fn dup(fd: std::os::fd::RawFd) -> io::Result<std::os::fd::OwnedFd> {
    // SAFETY: the descriptor is open for the duration of the call (its File is alive).
    unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) }.try_clone_to_owned()
}

/// Bytes copied with `copy_file_range` before the destination's blocks are reserved: enough
/// to learn that the kernel takes the copy at all (if it refuses, nothing was reserved).
const PROBE: u64 = 1 << 20;

/// `copy_file_range` from offset 0 until `len` bytes went (or the source ended); returns the
/// bytes copied. Fails
/// only before the first byte for the errors the caller falls back on.
///
/// On ext4, once the first [`PROBE`] bytes went, the rest of the destination is allocated
/// in one `fallocate` (unwritten extents), so the copy's writes land on blocks that exist
/// instead of making ext4 reserve a delayed-allocation block for every page (about 6% of
/// the copy's CPU time). Only ext4: it never shares extents, so nothing is allocated that
/// a reflink would have made unnecessary. If the copy then stops short (an error, a source
/// that shrank), the destination is truncated to what was copied, as without it.
fn copy_file_range_all(
    src: &std::os::fd::OwnedFd,
    dst: &std::os::fd::OwnedFd,
    len: u64,
) -> io::Result<u64> {
    let (mut off_in, mut off_out) = (0i64, 0i64);
    let mut reserved = false;
    let result = loop {
        if (off_in as u64) >= len {
            break Ok(off_out as u64);
        }
        if !reserved && off_in as u64 >= PROBE.min(len) {
            reserved = reserve_on_ext4(dst, off_out, len - off_in as u64);
        }
        let cap = if off_in == 0 { PROBE } else { 1 << 30 };
        let want = (len - off_in as u64).min(cap) as usize;
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
                break Err(io::Error::new(e.kind(), e));
            }
            break Err(e);
        }
        if n == 0 {
            break Ok(off_out as u64); // the source got shorter
        }
    };
    if reserved && (off_out as u64) < len {
        // SAFETY: ftruncate takes no pointers; the descriptor is ours.
        if unsafe { libc::ftruncate(dst.as_raw_fd(), off_out) } < 0 {
            return result.and(Err(io::Error::last_os_error()));
        }
    }
    result
}

/// `fallocate(fd, 0, at, len)` if `fd` is on ext4; whether it was done (a refusal, such as
/// `EOPNOTSUPP` for an ext4 file without extents, just leaves the copy as it was).
fn reserve_on_ext4(fd: &std::os::fd::OwnedFd, at: i64, len: u64) -> bool {
    const EXT4_SUPER_MAGIC: i64 = 0xEF53;
    // SAFETY: fstatfs writes into the struct we pass, which is ours; all-zero is a valid statfs.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: as above; the descriptor is ours.
    if unsafe { libc::fstatfs(fd.as_raw_fd(), &mut st) } < 0 || st.f_type as i64 != EXT4_SUPER_MAGIC
    {
        return false;
    }
    // SAFETY: fallocate takes no pointers; the descriptor is ours.
    unsafe { libc::fallocate(fd.as_raw_fd(), 0, at, len as i64) == 0 }
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
    /// A source shorter than the length the copy was told (it shrank after the `statx`): on
    /// ext4 the destination was `fallocate`d to the full length after the first MiB, and must
    /// be cut back to the bytes copied. (Where the temporary directory is not on ext4 nothing
    /// is allocated and the test checks only the copy.)
    #[test]
    fn copy_cut_short_leaves_only_the_bytes_copied() {
        use std::os::fd::OwnedFd;
        let dir = std::env::temp_dir().join(format!("boros-rt-shortcopy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let data: Vec<u8> = (0..3 * super::PROBE + 777)
            .map(|i| (i % 251) as u8)
            .collect();
        std::fs::write(dir.join("src"), &data).unwrap();
        let src = OwnedFd::from(std::fs::File::open(dir.join("src")).unwrap());
        let dst = OwnedFd::from(std::fs::File::create(dir.join("dst")).unwrap());
        let n = super::copy_file_range_all(&src, &dst, 8 * super::PROBE).unwrap();
        assert_eq!(
            n,
            data.len() as u64,
            "the bytes copied, not the length asked for"
        );
        drop(dst);
        assert!(std::fs::read(dir.join("dst")).unwrap() == data);
        std::fs::remove_dir_all(&dir).unwrap();
    }

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
