//! [`File`] and [`OpenOptions`]: an open file and how to open one (re-exported by
//! [`fs`](crate::fs), which adds the whole-file functions).

use crate::buf::{IoBuf, IoBufMut, Slice};
use crate::cancel::Cancelable;
use crate::fixed::FixedBuf;
use crate::metadata::{statx, Metadata};
use crate::op::{run, run_unit};
use crate::runtime::with_current;
use boros::op::{self, Target};
use std::ffi::CString;
use std::future::Future;
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::{fmt, io};

/// `path` as a C string (`InvalidInput` when it holds a NUL byte).
pub(crate) fn cpath(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "path contains an interior NUL byte",
        )
    })
}

/// A finished read: the count, and the buffer with its length set to it.
pub(crate) fn read_done<B: IoBufMut>(
    r: io::Result<u32>,
    op: op::Read<B>,
) -> (io::Result<usize>, B) {
    let n = *r.as_ref().unwrap_or(&0);
    let mut buf = op.into_buf(n);
    crate::buf::set_read_len(&mut buf, n as usize);
    (r.map(|n| n as usize), buf)
}

/// An open file. Reads and writes are positional (`read_at`, `write_at`): several may be in
/// flight on one file at once.
///
/// Dropping a `File` closes it: a plain descriptor with `close(2)` at once, a direct
/// descriptor with a close op queued on the ring. [`close`](Self::close) closes it through the
/// ring and reports errors.
pub struct File {
    target: Target,
    closed: bool,
}

impl fmt::Debug for File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("File")
            .field("target", &self.target)
            .finish()
    }
}

impl File {
    /// Opens a file for reading.
    pub async fn open(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new()
            .read(true)
            .open_named(path.as_ref(), "fs::File::open")
            .await
    }

    /// Opens a file for writing, creating it, or truncating it if it exists.
    pub async fn create(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open_named(path.as_ref(), "fs::File::create")
            .await
    }

    /// Takes over a std file.
    pub fn from_std(file: std::fs::File) -> File {
        File {
            target: Target::Fd(file.into_raw_fd()),
            closed: false,
        }
    }

    /// The op target: a descriptor, or a slot of the ring's file table.
    pub fn target(&self) -> Target {
        self.target
    }

    /// Whether the file is a direct descriptor (a slot of the ring's file table).
    pub fn is_fixed(&self) -> bool {
        matches!(self.target, Target::Fixed(_))
    }

    /// Reads up to `buf.bytes_total()` bytes at `pos` into `buf` (from its start). Returns the
    /// count (0 at end of file) and the buffer; a `Vec<u8>` gets its length set to the bytes
    /// read (shorter than before, too, when it is reused: no `clear()` needed), a
    /// `Box<[u8]>` keeps its length (use the count).
    ///
    /// Not cancel-safe: if this future is dropped after the kernel read the bytes but before
    /// the future returned them, they are lost (the file position does not move, so reading
    /// again at `pos` gets them back). [`read_at_cancelable`](Self::read_at_cancelable)
    /// gives them back instead.
    pub fn read_at<B: IoBufMut>(
        &self,
        buf: B,
        pos: u64,
    ) -> impl Future<Output = (io::Result<usize>, B)> + '_ {
        // The cancelable form's future (queued at its first poll, like an `async fn`), without
        // its `cancel`: one state machine, not an `async fn` around an `Op`. `+ '_`: it
        // borrows the file, as the `async fn` did (the descriptor is read at the first poll).
        Cancelable::new(
            op::Read::new(self.target, buf, pos),
            read_done,
            "fs::File::read_at",
        )
    }

    /// A cancel-safe [`read_at`](Self::read_at): poll it by reference in a `select`, and
    /// if it loses, [`Cancelable::cancel`] gives the buffer back with the bytes if the read
    /// had completed (see [`cancel`](crate::cancel)).
    pub fn read_at_cancelable<B: IoBufMut>(
        &self,
        buf: B,
        pos: u64,
    ) -> Cancelable<'_, op::Read<B>, (io::Result<usize>, B)> {
        Cancelable::new(
            op::Read::new(self.target, buf, pos),
            read_done,
            "fs::File::read_at_cancelable",
        )
    }

    /// Fills `buf` to its capacity from `pos`, reading as often as needed.
    ///
    /// # Errors
    /// `UnexpectedEof` if the file ends first (the buffer holds what was read).
    pub async fn read_exact_at<B: IoBufMut>(&self, buf: B, pos: u64) -> (io::Result<()>, B) {
        let total = buf.bytes_total();
        let mut buf = buf;
        // Fill from the start, in order, so the bytes before each read are initialized.
        let mut done = 0usize;
        while done < total {
            let (r, slice) = self
                .read_at(Slice::new(buf, done, total), pos + done as u64)
                .await;
            buf = slice.into_inner();
            match r {
                Ok(0) => {
                    return (
                        Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "file ended before the buffer was full",
                        )),
                        buf,
                    )
                }
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return (Err(e), buf),
            }
        }
        (Ok(()), buf)
    }

    /// Writes the buffer's initialized bytes at `pos`; returns the count written (maybe
    /// fewer) and the buffer.
    pub async fn write_at<B: IoBuf>(&self, buf: B, pos: u64) -> (io::Result<usize>, B) {
        let done = run(op::Write::new(self.target, buf, pos), "fs::File::write_at").await;
        let r = done.result().map(|n| n as usize);
        (r, done.op.into_buf())
    }

    /// Writes all the buffer's initialized bytes at `pos`, writing as often as needed.
    pub async fn write_all_at<B: IoBuf>(&self, buf: B, pos: u64) -> (io::Result<()>, B) {
        let total = buf.bytes_init();
        let mut buf = buf;
        let mut done = 0usize;
        while done < total {
            let len = (total - done).min(u32::MAX as usize) as u32;
            let op = op::Write::new(self.target, buf, pos + done as u64).range(done, len);
            let c = run(op, "fs::File::write_all_at").await;
            let r = c.result();
            buf = c.op.into_buf();
            match r {
                Ok(0) => return (Err(io::ErrorKind::WriteZero.into()), buf),
                Ok(n) => done += n as usize,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return (Err(e), buf),
            }
        }
        (Ok(()), buf)
    }

    /// Reads into a registered buffer (`READ_FIXED`): up to its capacity, at `pos`.
    pub async fn read_fixed_at(&self, buf: FixedBuf, pos: u64) -> (io::Result<usize>, FixedBuf) {
        let index = buf.buf_index();
        let done = run(
            op::Read::new(self.target, buf, pos).fixed(index),
            "fs::File::read_fixed_at",
        )
        .await;
        match done.result() {
            Ok(n) => (Ok(n as usize), done.op.into_buf(n)),
            Err(e) => {
                let mut b = done.op.into_buf(0);
                b.set_len(0);
                (Err(e), b)
            }
        }
    }

    /// Writes a registered buffer's bytes (`WRITE_FIXED`) at `pos`.
    pub async fn write_fixed_at(&self, buf: FixedBuf, pos: u64) -> (io::Result<usize>, FixedBuf) {
        let index = buf.buf_index();
        let done = run(
            op::Write::new(self.target, buf, pos).fixed(index),
            "fs::File::write_fixed_at",
        )
        .await;
        let r = done.result().map(|n| n as usize);
        (r, done.op.into_buf())
    }

    /// Flushes data and metadata to the device (`fsync`).
    pub async fn sync_all(&self) -> io::Result<()> {
        run_unit(op::Fsync::new(self.target), "fs::File::sync_all").await
    }

    /// Flushes data, and the metadata needed to read it (`fdatasync`).
    pub async fn sync_data(&self) -> io::Result<()> {
        run_unit(
            op::Fsync::new(self.target).datasync(),
            "fs::File::sync_data",
        )
        .await
    }

    /// The file's metadata (`statx` on the descriptor).
    ///
    /// # Errors
    /// `Unsupported` for a direct descriptor (statx takes no fixed file).
    pub async fn metadata(&self) -> io::Result<Metadata> {
        let Target::Fd(fd) = self.target else {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "statx cannot take a direct (fixed) descriptor",
            ));
        };
        statx(op::Statx::fd(fd), "fs::File::metadata").await
    }

    /// Closes the file through the ring, reporting the close's error.
    pub async fn close(mut self) -> io::Result<()> {
        self.closed = true;
        match self.target {
            Target::Fd(fd) => run_unit(op::Close::new(fd), "fs::File::close").await,
            // The driver frees the slot when the close completes.
            Target::Fixed(slot) => {
                run_unit(op::Close::new(Target::Fixed(slot)), "fs::File::close").await
            }
        }
    }
}

impl AsRawFd for File {
    /// The descriptor; `-1` for a direct descriptor (it is not in the process's table).
    fn as_raw_fd(&self) -> RawFd {
        match self.target {
            Target::Fd(fd) => fd,
            Target::Fixed(_) => -1,
        }
    }
}

impl Drop for File {
    fn drop(&mut self) {
        if self.closed {
            return;
        }
        match self.target {
            Target::Fd(fd) => {
                // SAFETY: the File owns the descriptor; closing it here, like std does.
                drop(unsafe { std::fs::File::from_raw_fd(fd) });
            }
            Target::Fixed(slot) => {
                // A direct descriptor only the ring can close. With no runtime running, the
                // slot goes when the ring does.
                let _ = crate::runtime::try_with_current(|core| {
                    core.push_detached(op::Close::new(Target::Fixed(slot)))
                });
            }
        }
    }
}

/// Options for opening a file, as `std::fs::OpenOptions`, plus [`fixed`](Self::fixed).
#[derive(Debug, Clone)]
pub struct OpenOptions {
    read: bool,
    write: bool,
    append: bool,
    truncate: bool,
    create: bool,
    create_new: bool,
    mode: u32,
    custom_flags: i32,
    fixed: bool,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl OpenOptions {
    /// Nothing set; mode 0o666 (minus the umask) for created files.
    pub fn new() -> Self {
        Self {
            read: false,
            write: false,
            append: false,
            truncate: false,
            create: false,
            create_new: false,
            mode: 0o666,
            custom_flags: 0,
            fixed: false,
        }
    }

    /// Open for reading.
    pub fn read(&mut self, v: bool) -> &mut Self {
        self.read = v;
        self
    }
    /// Open for writing.
    pub fn write(&mut self, v: bool) -> &mut Self {
        self.write = v;
        self
    }
    /// Append (`O_APPEND`); implies write.
    pub fn append(&mut self, v: bool) -> &mut Self {
        self.append = v;
        self
    }
    /// Truncate to 0 bytes (`O_TRUNC`).
    pub fn truncate(&mut self, v: bool) -> &mut Self {
        self.truncate = v;
        self
    }
    /// Create if missing (`O_CREAT`).
    pub fn create(&mut self, v: bool) -> &mut Self {
        self.create = v;
        self
    }
    /// Create, failing if it exists (`O_CREAT | O_EXCL`).
    pub fn create_new(&mut self, v: bool) -> &mut Self {
        self.create_new = v;
        self
    }
    /// The mode of a created file.
    pub fn mode(&mut self, mode: u32) -> &mut Self {
        self.mode = mode;
        self
    }
    /// Extra `open(2)` flags (`O_DIRECT`, `O_NOATIME`...).
    pub fn custom_flags(&mut self, flags: i32) -> &mut Self {
        self.custom_flags = flags;
        self
    }
    /// Open into a slot of the ring's file table (a direct descriptor, Linux 5.15): ops on
    /// it skip the per-op file lookup and reference counting. Falls back to a plain
    /// descriptor when the table is full or the kernel refused it. Direct descriptors have
    /// no [`File::metadata`] and no `as_raw_fd`.
    pub fn fixed(&mut self, v: bool) -> &mut Self {
        self.fixed = v;
        self
    }

    fn flags(&self) -> io::Result<i32> {
        let access = match (self.read, self.write || self.append) {
            (true, false) => libc::O_RDONLY,
            (false, true) => libc::O_WRONLY,
            (true, true) => libc::O_RDWR,
            (false, false) => return Err(io::Error::from_raw_os_error(libc::EINVAL)),
        };
        let mut flags = access | self.custom_flags;
        if self.append {
            flags |= libc::O_APPEND;
        }
        if self.truncate {
            flags |= libc::O_TRUNC;
        }
        if self.create_new {
            flags |= libc::O_CREAT | libc::O_EXCL;
        } else if self.create {
            flags |= libc::O_CREAT;
        }
        Ok(flags)
    }

    /// Opens `path` with these options (`openat` on the ring).
    pub async fn open(&self, path: impl AsRef<Path>) -> io::Result<File> {
        self.open_named(path.as_ref(), "fs::OpenOptions::open")
            .await
    }

    async fn open_named(&self, path: &Path, what: &'static str) -> io::Result<File> {
        let path = cpath(path)?;
        let flags = self.flags()?;
        let slot = if self.fixed {
            with_current(what, |core| core.driver.borrow_mut().alloc_file_slot())
        } else {
            None
        };
        match slot {
            Some(slot) => {
                // A failed open's slot is freed by the driver.
                let open = op::OpenAt::new(path, flags, self.mode).direct(slot);
                let done = run(open, what).await;
                done.result().map(|_| File {
                    target: Target::Fixed(slot),
                    closed: false,
                })
            }
            None => {
                let done = run(op::OpenAt::new(path, flags, self.mode), what).await;
                let fd = done.result()?;
                Ok(File {
                    target: Target::Fd(fd as RawFd),
                    closed: false,
                })
            }
        }
    }
}
