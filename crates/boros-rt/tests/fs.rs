//! Files: every `fs` entry point against std's view of the same files.

use boros_rt::buf::Slice;
use boros_rt::fixed::FixedBufPool;
use boros_rt::fs::{self, File, OpenOptions};
use std::io::ErrorKind;
use std::path::PathBuf;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("boros-rt-fs-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn write_read_metadata_rename_remove() {
    let dir = scratch("basic");
    boros_rt::block_on(async {
        let a = dir.join("a.txt");
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        fs::write(&a, data.clone()).await.unwrap();
        assert_eq!(std::fs::read(&a).unwrap(), data);
        assert_eq!(fs::read(&a).await.unwrap(), data);

        let m = fs::metadata(&a).await.unwrap();
        assert_eq!(m.len(), 100_000);
        assert!(m.is_file() && !m.is_dir());
        let std_m = std::fs::metadata(&a).unwrap();
        assert_eq!(m.modified(), std_m.modified().unwrap());
        assert_eq!(m.ino(), std::os::unix::fs::MetadataExt::ino(&std_m));

        let b = dir.join("b.txt");
        fs::rename(&a, &b).await.unwrap();
        assert!(!a.exists() && b.exists());
        fs::remove_file(&b).await.unwrap();
        assert!(!b.exists());
        assert_eq!(
            fs::remove_file(&b).await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
        assert_eq!(fs::read(&b).await.unwrap_err().kind(), ErrorKind::NotFound);

        let sub = dir.join("sub");
        fs::create_dir(&sub).await.unwrap();
        assert!(fs::metadata(&sub).await.unwrap().is_dir());
        assert_eq!(
            fs::create_dir(&sub).await.unwrap_err().kind(),
            ErrorKind::AlreadyExists
        );
        fs::remove_dir(&sub).await.unwrap();
        assert!(!sub.exists());

        // Empty files and files that grew past their statx size read whole.
        let e = dir.join("empty");
        fs::write(&e, Vec::new()).await.unwrap();
        assert!(fs::read(&e).await.unwrap().is_empty());
        assert_eq!(
            fs::read("/proc/self/comm").await.unwrap().last(),
            Some(&b'\n')
        );
    });
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn file_positional_io_and_options() {
    let dir = scratch("file");
    boros_rt::block_on(async {
        let p = dir.join("f");
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&p)
            .await
            .unwrap();
        assert_eq!(fs::metadata(&p).await.unwrap().mode() & 0o777, 0o600);
        let err = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&p)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AlreadyExists);

        let (r, buf) = f.write_all_at(b"hello world".to_vec(), 10).await;
        r.unwrap();
        assert_eq!(buf, b"hello world");
        let (n, buf) = f.write_at(&b"HELLO"[..], 10).await;
        assert_eq!((n.unwrap(), buf), (5, &b"HELLO"[..]));
        f.sync_all().await.unwrap();
        f.sync_data().await.unwrap();
        assert_eq!(f.metadata().await.unwrap().len(), 21);

        let (n, buf) = f.read_at(Vec::with_capacity(100), 10).await;
        assert_eq!(n.unwrap(), 11);
        assert_eq!(buf, b"HELLO world");
        // A read past the end gives 0.
        let (n, buf) = f.read_at(Vec::with_capacity(8), 1000).await;
        assert_eq!((n.unwrap(), buf.len()), (0, 0));

        // read_exact_at fills the buffer (here in one read) or says UnexpectedEof.
        let (r, buf) = f.read_exact_at(vec![0u8; 5].into_boxed_slice(), 16).await;
        r.unwrap();
        assert_eq!(&*buf, b"world");
        let (r, _) = f.read_exact_at(Vec::with_capacity(30), 0).await;
        assert_eq!(r.unwrap_err().kind(), ErrorKind::UnexpectedEof);

        // A Slice reads into the middle of a buffer.
        let (n, s) = f.read_at(Slice::new(vec![b'.'; 8], 2, 8), 10).await;
        assert_eq!(n.unwrap(), 6);
        assert_eq!(s.into_inner(), b"..HELLO ");
        f.close().await.unwrap();

        // Append and truncate.
        let ap = OpenOptions::new().append(true).open(&p).await.unwrap();
        let (r, _) = ap.write_all_at(b"!".to_vec(), 0).await;
        r.unwrap();
        drop(ap);
        assert_eq!(std::fs::read(&p).unwrap().len(), 22);
        let t = File::create(&p).await.unwrap();
        assert_eq!(t.metadata().await.unwrap().len(), 0);
        assert_eq!(
            OpenOptions::new().open(&p).await.unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    });
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn read_exact_at_loops_over_short_reads() {
    // A pipe returns what is there: a 64 KiB exact read collects several short reads.
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two descriptors.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        use std::os::fd::FromRawFd;
        // SAFETY: the write end, owned by this thread from now on.
        let mut w = unsafe { std::fs::File::from_raw_fd(fds[1]) };
        for i in 0..16u8 {
            w.write_all(&[i; 4096]).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
    });
    boros_rt::block_on(async {
        use std::os::fd::FromRawFd;
        // SAFETY: the read end, owned by the File.
        let r = File::from_std(unsafe { std::fs::File::from_raw_fd(fds[0]) });
        let (res, buf) = r.read_exact_at(Vec::with_capacity(65536), 0).await;
        res.unwrap();
        assert_eq!(buf.len(), 65536);
        for (i, chunk) in buf.chunks(4096).enumerate() {
            assert!(chunk.iter().all(|&b| b == i as u8));
        }
    });
    writer.join().unwrap();
}

#[test]
fn registered_buffers_and_fixed_files() {
    let dir = scratch("fixed");
    boros_rt::block_on(async {
        let p = dir.join("data");
        let data: Vec<u8> = (0..8192u32).map(|i| (i * 7 % 256) as u8).collect();
        std::fs::write(&p, &data).unwrap();

        let pool = match FixedBufPool::new(4, 4096) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("registered buffers refused here ({e}); skipping that part");
                return;
            }
        };
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .fixed(true)
            .open(&p)
            .await
            .unwrap();
        assert!(f.is_fixed());
        let buf = pool.take().unwrap();
        assert_eq!(pool.available(), 3);
        let (n, buf) = f.read_fixed_at(buf, 4096).await;
        assert_eq!(n.unwrap(), 4096);
        assert_eq!(&buf[..], &data[4096..]);
        // Plain ops work on a fixed file too.
        let (n, v) = f.read_at(Vec::with_capacity(10), 0).await;
        assert_eq!(n.unwrap(), 10);
        assert_eq!(v, &data[..10]);
        // Write a registered buffer back at another place.
        let (n, buf) = f.write_fixed_at(buf, 8192).await;
        assert_eq!(n.unwrap(), 4096);
        drop(buf);
        assert_eq!(pool.available(), 4);
        assert_eq!(
            f.metadata().await.unwrap_err().kind(),
            ErrorKind::Unsupported
        );
        f.close().await.unwrap();
        let all = std::fs::read(&p).unwrap();
        assert_eq!(&all[8192..], &data[4096..]);
        // A dropped fixed file closes its slot through the ring.
        let g = OpenOptions::new()
            .read(true)
            .fixed(true)
            .open(&p)
            .await
            .unwrap();
        drop(g);
        boros_rt::time::sleep(std::time::Duration::from_millis(5)).await;
        drop(pool);
    });
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn many_files_concurrently() {
    let dir = scratch("many");
    for i in 0..200 {
        std::fs::write(dir.join(format!("{i}")), format!("file {i}").repeat(i + 1)).unwrap();
    }
    let d = dir.clone();
    boros_rt::block_on(async move {
        let mut set = boros_rt::JoinSet::new();
        for i in 0..200usize {
            let p = d.join(format!("{i}"));
            set.spawn(async move { (i, fs::read(p).await.unwrap()) });
        }
        let mut n = 0;
        while let Some(r) = set.join_next().await {
            let (i, bytes) = r.unwrap();
            assert_eq!(bytes, format!("file {i}").repeat(i + 1).into_bytes());
            n += 1;
        }
        assert_eq!(n, 200);
    });
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `read_at` into a reused `Vec` must set its length to the bytes read, also when that is
/// fewer than the `Vec` held: a copy loop without `clear()` wrote 200,015,872 bytes from a
/// 200,000,000-byte source (the last short read kept the previous read's tail).
#[test]
fn a_reused_vec_gets_the_length_of_each_read() {
    let dir = scratch("copyloop");
    let (src, dst) = (dir.join("src"), dir.join("dst"));
    // Not a multiple of the chunk, so the last read is short.
    let data: Vec<u8> = (0..1_000_003u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&src, &data).unwrap();
    boros_rt::block_on(async {
        let from = File::open(&src).await.unwrap();
        let to = File::create(&dst).await.unwrap();
        let mut buf = Vec::with_capacity(64 * 1024);
        let mut pos = 0u64;
        loop {
            let (n, b) = from.read_at(buf, pos).await;
            let n = n.unwrap();
            assert_eq!(b.len(), n, "the Vec's length is the count read");
            if n == 0 {
                break;
            }
            let (r, b) = to.write_all_at(b, pos).await;
            r.unwrap();
            pos += n as u64;
            buf = b; // reused as is, no clear()
        }
        // A reused, longer Vec shrinks for a short read, and reads at EOF leave it empty.
        let (n, b) = from.read_at(vec![9u8; 100], data.len() as u64 - 10).await;
        assert_eq!((n.unwrap(), b.len()), (10, 10));
        assert_eq!(&b[..], &data[data.len() - 10..]);
        // Sockets too.
        let (a, c) = boros_rt::net::UnixStream::pair().unwrap();
        let (r, _) = a.write_all(b"abc".to_vec()).await;
        r.unwrap();
        let mut long = Vec::with_capacity(64);
        long.extend_from_slice(&[7u8; 50]);
        let (n, b) = c.read(long).await;
        assert_eq!((n.unwrap(), &b[..]), (3, &b"abc"[..]));
    });
    let out = std::fs::read(&dst).unwrap();
    assert_eq!(out.len(), data.len(), "the copy has the source's length");
    assert!(out == data);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `fs::copy` copies contents and permission bits like `std::fs::copy`, for a file larger
/// than its chunking, an empty file, and (read to its end on the ring) a file from /proc,
/// whose size statx reports as 0.
#[test]
fn copy_matches_std() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch("copy");
    let src = dir.join("src");
    let data: Vec<u8> = (0..5_000_123u32).map(|i| (i % 241) as u8).collect();
    std::fs::write(&src, &data).unwrap();
    std::fs::set_permissions(&src, std::fs::Permissions::from_mode(0o640)).unwrap();
    let empty = dir.join("empty");
    std::fs::write(&empty, b"").unwrap();
    boros_rt::block_on(async {
        let n = fs::copy(&src, dir.join("dst")).await.unwrap();
        assert_eq!(n, data.len() as u64);
        assert_eq!(fs::copy(&empty, dir.join("empty2")).await.unwrap(), 0);
        // A procfs file: statx says 0 bytes, and copy_file_range copies none; std reads it.
        let n = fs::copy("/proc/self/status", dir.join("status"))
            .await
            .unwrap();
        let text = std::fs::read_to_string(dir.join("status")).unwrap();
        assert!(
            n > 0 && n == text.len() as u64 && text.starts_with("Name:"),
            "{n} {text:?}"
        );
        // A directory is refused, not copied.
        assert!(fs::copy(&dir, dir.join("x")).await.is_err());
        // Missing source: NotFound.
        let e = fs::copy(dir.join("missing"), dir.join("y"))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
    });
    let out = std::fs::read(dir.join("dst")).unwrap();
    assert!(out == data, "same bytes");
    let mode = std::fs::metadata(dir.join("dst"))
        .unwrap()
        .permissions()
        .mode()
        & 0o7777;
    assert_eq!(mode, 0o640, "permission bits copied");
    assert_eq!(std::fs::read(dir.join("empty2")).unwrap().len(), 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Vectored reads and writes (one op for several buffers), `set_len`, and `read_dir`
/// against std.
#[test]
fn vectored_io_set_len_and_read_dir() {
    let dir = scratch("vectored");
    let path = dir.join("f");
    boros_rt::block_on(async {
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .open(&path)
            .await
            .unwrap();
        let (n, _) = f
            .write_vectored_at(
                vec![b"hello ".to_vec(), b"vectored ".to_vec(), b"world".to_vec()],
                0,
            )
            .await;
        assert_eq!(n.unwrap(), 20);
        let bufs = vec![Vec::with_capacity(4), Vec::with_capacity(10), vec![0u8; 3]];
        let (n, bufs) = f.read_vectored_at(bufs, 2).await;
        assert_eq!(n.unwrap(), 17);
        assert_eq!(&bufs[0][..], b"llo ");
        assert_eq!(&bufs[1][..], b"vectored w");
        assert_eq!(&bufs[2][..], b"orl");
        f.set_len(5).await.unwrap();
        assert_eq!(f.metadata().await.unwrap().len(), 5);
        f.set_len(1 << 20).await.unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 1 << 20);
        std::fs::write(dir.join("g"), b"").unwrap();
        std::fs::create_dir(dir.join("sub")).unwrap();
        let mut names: Vec<String> = fs::read_dir(&dir)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["f", "g", "sub"]);
        assert_eq!(
            fs::read_dir(dir.join("missing")).await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
    });
    assert_eq!(&std::fs::read(&path).unwrap()[..5], b"hello");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Every way a direct descriptor ends gives its slot back exactly once (the driver frees it at
/// the final CQE of the op that left it empty): a failed open, a close, a dropped file. More
/// rounds than the table has slots, so a leak would end in plain descriptors.
#[test]
fn fixed_file_slots_come_back() {
    let dir = scratch("slots");
    let p = dir.join("f");
    std::fs::write(&p, b"slot").unwrap();
    let d = dir.clone();
    boros_rt::block_on(async move {
        let open = |path: std::path::PathBuf| async move {
            OpenOptions::new().read(true).fixed(true).open(path).await
        };
        let first = open(p.clone()).await.unwrap();
        if !first.is_fixed() {
            eprintln!("no registered file table here; skipping");
            return;
        }
        first.close().await.unwrap();
        for i in 0..5000 {
            assert_eq!(
                open(d.join("missing")).await.unwrap_err().kind(),
                ErrorKind::NotFound
            );
            let f = open(p.clone()).await.unwrap();
            assert!(f.is_fixed(), "round {i}: a slot leaked, the table ran out");
            if i % 2 == 0 {
                f.close().await.unwrap();
            } else {
                drop(f);
                boros_rt::yield_now().await;
            }
        }
        boros_rt::time::sleep(std::time::Duration::from_millis(5)).await;
        assert!(open(p).await.unwrap().is_fixed());
    });
    std::fs::remove_dir_all(&dir).unwrap();
}
