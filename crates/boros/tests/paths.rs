//! Integration tests of the path and file-metadata ops (rename, unlink, mkdir, symlink,
//! link, fallocate, fadvise, ftruncate, writev) against the running kernel: no mocks.

use boros::io_uring::opcode;
use boros::{op, Driver, PushError};
use std::ffi::CString;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// A fresh directory in the temp directory, removed (recursively) on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let n = SEQ.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("boros-paths-{}-{}-{}", std::process::id(), tag, n));
        std::fs::create_dir(&path).unwrap();
        TempDir(path)
    }
    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `path`, created (or emptied) and open for reading and writing.
fn create_rw(path: &Path) -> std::fs::File {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .unwrap()
}

fn c(p: &Path) -> CString {
    CString::new(p.as_os_str().as_encoded_bytes()).unwrap()
}

/// Pushes one op, waits for its completion, returns its raw result (`-errno` on failure).
fn run(driver: &mut Driver, op: Box<dyn op::OpCode>) -> i32 {
    driver.push(op, 7).unwrap();
    let mut out = None;
    for _ in 0..200 {
        driver.wait(1, Some(Duration::from_millis(50))).unwrap();
        driver
            .reap(boros::completions(|c| {
                assert_eq!(c.token, 7);
                out = Some(c.result);
            }))
            .unwrap();
        if let Some(r) = out {
            return r;
        }
    }
    panic!("no completion after 10 s");
}

/// Skips (returns true) when the running kernel lacks the opcode, saying so.
fn missing(driver: &Driver, code: u8, name: &str) -> bool {
    if driver.info().support.has(code) {
        return false;
    }
    eprintln!(
        "skipped: this kernel ({}) has no io_uring {name}",
        driver.info().kernel
    );
    true
}

#[test]
fn mkdir_rename_unlink_rmdir() {
    let dir = TempDir::new("mkdir");
    let mut d = Driver::new().unwrap();
    if missing(&d, opcode::MkDirAt::CODE, "mkdirat") {
        return;
    }
    let sub = dir.join("sub");
    assert_eq!(run(&mut d, Box::new(op::MkDirAt::new(c(&sub), 0o750))), 0);
    let meta = std::fs::metadata(&sub).unwrap();
    assert!(meta.is_dir());
    // The umask may only remove bits.
    assert_eq!(meta.mode() & 0o777 & !0o750, 0);
    assert_eq!(
        run(&mut d, Box::new(op::MkDirAt::new(c(&sub), 0o755))),
        -libc::EEXIST
    );
    assert_eq!(
        run(
            &mut d,
            Box::new(op::MkDirAt::new(c(&dir.join("no/such")), 0o755))
        ),
        -libc::ENOENT
    );

    let file = dir.join("a");
    std::fs::write(&file, b"hello").unwrap();
    let moved = sub.join("b");
    assert_eq!(
        run(&mut d, Box::new(op::RenameAt::new(c(&file), c(&moved)))),
        0
    );
    assert!(!file.exists());
    assert_eq!(std::fs::read(&moved).unwrap(), b"hello");
    assert_eq!(
        run(&mut d, Box::new(op::RenameAt::new(c(&file), c(&moved)))),
        -libc::ENOENT
    );
    // RENAME_NOREPLACE refuses to replace an existing name.
    std::fs::write(&file, b"x").unwrap();
    assert_eq!(
        run(
            &mut d,
            Box::new(op::RenameAt::new(c(&file), c(&moved)).flags(libc::RENAME_NOREPLACE))
        ),
        -libc::EEXIST
    );

    // unlink of a directory fails with EISDIR; rmdir of a non-empty one with ENOTEMPTY.
    assert_eq!(
        run(&mut d, Box::new(op::UnlinkAt::new(c(&sub)))),
        -libc::EISDIR
    );
    assert_eq!(
        run(&mut d, Box::new(op::UnlinkAt::dir(c(&sub)))),
        -libc::ENOTEMPTY
    );
    assert_eq!(
        run(&mut d, Box::new(op::UnlinkAt::dir(c(&file)))),
        -libc::ENOTDIR
    );
    assert_eq!(run(&mut d, Box::new(op::UnlinkAt::new(c(&moved)))), 0);
    assert!(!moved.exists());
    assert_eq!(run(&mut d, Box::new(op::UnlinkAt::dir(c(&sub)))), 0);
    assert!(!sub.exists());
    assert_eq!(
        run(&mut d, Box::new(op::UnlinkAt::new(c(&moved)))),
        -libc::ENOENT
    );
}

#[test]
fn symlink_and_link() {
    let dir = TempDir::new("links");
    let mut d = Driver::new().unwrap();
    if missing(&d, opcode::SymlinkAt::CODE, "symlinkat") {
        return;
    }
    let target = dir.join("target");
    std::fs::write(&target, b"data").unwrap();

    let sym = dir.join("sym");
    // The target is stored as given, not resolved: a dangling relative one is fine.
    assert_eq!(
        run(
            &mut d,
            Box::new(op::SymlinkAt::new(CString::new("target").unwrap(), c(&sym)))
        ),
        0
    );
    assert_eq!(std::fs::read_link(&sym).unwrap(), Path::new("target"));
    assert_eq!(std::fs::read(&sym).unwrap(), b"data");
    assert_eq!(
        run(
            &mut d,
            Box::new(op::SymlinkAt::new(CString::new("x").unwrap(), c(&sym)))
        ),
        -libc::EEXIST
    );

    let hard = dir.join("hard");
    assert_eq!(
        run(&mut d, Box::new(op::LinkAt::new(c(&target), c(&hard)))),
        0
    );
    assert_eq!(std::fs::metadata(&target).unwrap().nlink(), 2);
    assert_eq!(
        std::fs::metadata(&hard).unwrap().ino(),
        std::fs::metadata(&target).unwrap().ino()
    );
    // Without AT_SYMLINK_FOLLOW the link is to the symlink itself; with it, to its target.
    let to_sym = dir.join("to-sym");
    assert_eq!(
        run(&mut d, Box::new(op::LinkAt::new(c(&sym), c(&to_sym)))),
        0
    );
    assert!(std::fs::symlink_metadata(&to_sym)
        .unwrap()
        .file_type()
        .is_symlink());
    let followed = dir.join("followed");
    assert_eq!(
        run(
            &mut d,
            Box::new(op::LinkAt::new(c(&sym), c(&followed)).follow())
        ),
        0
    );
    assert!(std::fs::symlink_metadata(&followed)
        .unwrap()
        .file_type()
        .is_file());
    assert_eq!(
        run(
            &mut d,
            Box::new(op::LinkAt::new(c(&dir.join("none")), c(&dir.join("n2"))))
        ),
        -libc::ENOENT
    );
}

#[test]
fn fallocate_fadvise_ftruncate() {
    let dir = TempDir::new("alloc");
    let path = dir.join("f");
    let file = create_rw(&path);
    let fd = file.as_raw_fd();
    let mut d = Driver::new().unwrap();

    // Past 4 GiB: a 64-bit length and offset must survive the trip through the SQE.
    let big = (1u64 << 32) + 4096;
    let r = run(&mut d, Box::new(op::Fallocate::new(fd, big, 4096)));
    if r == -libc::EOPNOTSUPP {
        eprintln!("skipped fallocate: the temp filesystem does not support it");
    } else {
        assert_eq!(r, 0);
        assert_eq!(file.metadata().unwrap().len(), big + 4096);
        // KEEP_SIZE allocates without growing the file.
        assert_eq!(
            run(
                &mut d,
                Box::new(op::Fallocate::new(fd, big + 4096, 4096).mode(libc::FALLOC_FL_KEEP_SIZE))
            ),
            0
        );
        assert_eq!(file.metadata().unwrap().len(), big + 4096);
    }
    assert_eq!(
        run(
            &mut d,
            Box::new(op::Fadvise::new(fd, 0, 0, libc::POSIX_FADV_SEQUENTIAL))
        ),
        0
    );
    assert_eq!(
        run(&mut d, Box::new(op::Fadvise::new(fd, 0, 0, 12345))),
        -libc::EINVAL
    );

    let ftruncate = Box::new(op::Ftruncate::new(fd, 10));
    if d.info().support.has(opcode::Ftruncate::CODE) {
        assert_eq!(run(&mut d, ftruncate), 0);
        assert_eq!(file.metadata().unwrap().len(), 10);
        // Growing works too (past 4 GiB), and a negative size is refused by the kernel.
        assert_eq!(run(&mut d, Box::new(op::Ftruncate::new(fd, big))), 0);
        assert_eq!(file.metadata().unwrap().len(), big);
        assert_eq!(
            run(&mut d, Box::new(op::Ftruncate::new(fd, u64::MAX))),
            -libc::EINVAL
        );
    } else {
        // Older than 6.9: the push is refused with the kernel that would be needed.
        match d.push(ftruncate, 1) {
            Err(PushError::Unsupported { op, since, .. }) => {
                assert_eq!(op, "ftruncate");
                assert_eq!(since.to_string(), "6.9");
            }
            other => panic!("expected Unsupported, got {other:?}"),
        }
    }
}

#[test]
fn writev_in_order_at_offset_and_current_position() {
    let dir = TempDir::new("writev");
    let path = dir.join("f");
    let file = create_rw(&path);
    let mut d = Driver::new().unwrap();
    let bufs = vec![b"abc".to_vec(), Vec::new(), b"defgh".to_vec()];
    assert_eq!(
        run(&mut d, Box::new(op::Writev::new(file.as_raw_fd(), bufs, 2))),
        8
    );
    assert_eq!(std::fs::read(&path).unwrap(), b"\0\0abcdefgh");
    // At the current position (0: positional writes did not move it), then it advances.
    let bufs = vec![b"XY".to_vec(), b"Z".to_vec()];
    assert_eq!(
        run(
            &mut d,
            Box::new(op::Writev::new(
                file.as_raw_fd(),
                bufs,
                op::CURRENT_POSITION
            ))
        ),
        3
    );
    let bufs = vec![b"!".to_vec()];
    assert_eq!(
        run(
            &mut d,
            Box::new(op::Writev::new(
                file.as_raw_fd(),
                bufs,
                op::CURRENT_POSITION
            ))
        ),
        1
    );
    assert_eq!(std::fs::read(&path).unwrap(), b"XYZ!cdefgh");
    // Bad descriptor: -EBADF, buffers still handed back with the completion.
    assert_eq!(
        run(
            &mut d,
            Box::new(op::Writev::new(-1, vec![b"a".to_vec()], 0))
        ),
        -libc::EBADF
    );
}

#[test]
fn sync_file_range_starts_write_back() {
    let dir = TempDir::new("sfr");
    let path = dir.join("f");
    std::fs::write(&path, vec![7u8; 1 << 20]).unwrap();
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .unwrap();
    let fd = file.as_raw_fd();
    let mut d = Driver::new().unwrap();
    let write = libc::SYNC_FILE_RANGE_WRITE;
    // Start only, then start and wait, on a range and to the end of the file (len 0).
    assert_eq!(
        run(&mut d, Box::new(op::SyncFileRange::new(fd, 0, 4096, write))),
        0
    );
    let and_wait = write | libc::SYNC_FILE_RANGE_WAIT_AFTER;
    assert_eq!(
        run(
            &mut d,
            Box::new(op::SyncFileRange::new(fd, 4096, 0, and_wait))
        ),
        0
    );
    // The kernel checks what it is given: unknown flags, and a pipe, which has no pages.
    assert_eq!(
        run(&mut d, Box::new(op::SyncFileRange::new(fd, 0, 0, 0x80))),
        -libc::EINVAL
    );
    let mut fds = [0; 2];
    // SAFETY: `fds` is a writable array of two descriptors, as pipe(2) requires.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    let r = run(
        &mut d,
        Box::new(op::SyncFileRange::new(fds[1], 0, 0, write)),
    );
    // SAFETY: both descriptors were just created by pipe(2) and are closed once.
    unsafe {
        libc::close(fds[0]);
        libc::close(fds[1]);
    }
    assert_eq!(r, -libc::ESPIPE);
    assert_eq!(std::fs::read(&path).unwrap(), vec![7u8; 1 << 20]);
}
