//! Integration tests of the driver against the running kernel: no mocks.
//!
//! Each test sets up its own ring on the test's own thread (the ring is `SINGLE_ISSUER`).

mod common;

use boros::io_uring::{opcode, squeue};
use boros::{op, Config, Driver, KernelVersion, PushError};
use common::{collect, pipe};
use std::ffi::CString;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// A file in the temp directory, removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(tag: &str) -> Self {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let n = SEQ.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("boros-test-{}-{}-{}", std::process::id(), tag, n));
        TempFile(path)
    }
    fn with_contents(tag: &str, data: &[u8]) -> Self {
        let f = Self::new(tag);
        std::fs::write(&f.0, data).unwrap();
        f
    }
    fn cpath(&self) -> CString {
        CString::new(self.0.as_os_str().as_encoded_bytes()).unwrap()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Block `i` of the batching file: its index, as a little-endian u32, repeated.
fn block(i: u32, len: usize) -> Vec<u8> {
    i.to_le_bytes().iter().copied().cycle().take(len).collect()
}

#[test]
fn setup_flags_and_sizes() {
    let driver = Driver::new().expect("io_uring setup");
    let info = driver.info();
    for flag in ["DEFER_TASKRUN", "SINGLE_ISSUER", "TASKRUN_FLAG"] {
        assert!(
            info.setup_flags.contains(&flag),
            "{flag} missing from {:?}",
            info.setup_flags
        );
    }
    assert!(
        !info.setup_flags.iter().any(|f| f.contains("SQPOLL")),
        "{:?}",
        info.setup_flags
    );
    assert!(
        info.cq_entries >= 2 * info.sq_entries,
        "cq {} sq {}",
        info.cq_entries,
        info.sq_entries
    );
    assert!(info.kernel_version >= KernelVersion::MINIMUM);
    for code in [
        opcode::Read::CODE,
        opcode::OpenAt::CODE,
        opcode::Statx::CODE,
    ] {
        assert!(info.support.has(code), "opcode {code} missing");
    }
    let names = info.support.names();
    for name in ["read", "openat", "statx", "close"] {
        assert!(names.contains(&name), "{name} missing from {names:?}");
    }

    // A CQ asked smaller than twice the SQ is raised to twice the SQ.
    let small = Driver::with_config(&Config {
        sq_entries: 64,
        cq_entries: 8,
        attach_wq: None,
    })
    .unwrap();
    assert!(
        small.info().cq_entries >= 128,
        "{:?}",
        small.info().cq_entries
    );
}

#[test]
fn thousand_reads_in_one_batch() {
    const N: u32 = 1000;
    const LEN: usize = 64;
    let data: Vec<u8> = (0..N).flat_map(|i| block(i, LEN)).collect();
    let file = TempFile::with_contents("batch", &data);
    let f = std::fs::File::open(&file.0).unwrap();

    let mut driver = Driver::with_config(&Config {
        sq_entries: 1024,
        cq_entries: 2048,
        attach_wq: None,
    })
    .unwrap();
    assert!(driver.info().sq_entries >= N);
    let before = driver.stats();
    // Read the blocks in a scrambled order, each at its own offset.
    for j in 0..N {
        let i = (j * 7919) % N;
        let read = op::Read::new(
            f.as_raw_fd(),
            Vec::with_capacity(LEN),
            i as u64 * LEN as u64,
        );
        driver.push(Box::new(read), i as u64).unwrap();
    }
    let pushed = driver.stats();
    assert_eq!(
        pushed.enter_calls, before.enter_calls,
        "push must not enter the kernel"
    );
    assert_eq!(pushed.in_flight, N as u64);

    assert_eq!(driver.submit().unwrap(), N as usize);
    let mut done = Vec::new();
    driver.reap(boros::completions(|c| done.push(c))).unwrap();
    let after = driver.stats();
    assert!(
        after.enter_calls - before.enter_calls <= 3,
        "{} io_uring_enter calls for one batch",
        after.enter_calls - before.enter_calls
    );
    assert_eq!(after.batches - before.batches, 1);
    assert_eq!(after.ops_submitted - before.ops_submitted, N as u64);

    let rest = collect(
        &mut driver,
        N as usize - done.len(),
        Duration::from_secs(10),
    );
    done.extend(rest);
    assert_eq!(done.len(), N as usize);
    let mut seen = vec![false; N as usize];
    for mut c in done {
        let i = c.token as u32;
        assert!(!seen[i as usize], "token {i} delivered twice");
        seen[i as usize] = true;
        let n = c.result().unwrap();
        assert_eq!(n as usize, LEN);
        let buf = c.take_op::<op::Read<Vec<u8>>>().unwrap().into_buf(n);
        assert_eq!(buf, block(i, LEN), "block {i}");
    }
    assert_eq!(driver.stats().in_flight, 0);
    assert_eq!(
        driver.stats().ops_completed - before.ops_completed,
        N as u64
    );
}

/// With DEFER_TASKRUN, completions of io-wq work come back as deferred task work, and one
/// `io_uring_enter(GETEVENTS)` runs at most 20 items of it. A single `reap` must still deliver
/// everything that is ready: the driver keeps entering while `IORING_SQ_TASKRUN` is set.
#[test]
fn one_reap_runs_all_deferred_task_work() {
    const N: usize = 100;
    let mut driver = Driver::new().unwrap();
    for i in 0..N {
        driver
            .push_with(Box::new(op::Nop), i as u64, squeue::Flags::ASYNC)
            .unwrap();
    }
    let mut early = Vec::new();
    driver.submit().unwrap();
    // No enter from here on: the io-wq workers finish the nops and queue their completions
    // as deferred task work, which only an enter on this thread will run.
    std::thread::sleep(Duration::from_millis(300));
    let enters = driver.stats().enter_calls;
    driver
        .reap(boros::completions(|c| early.push(c.token)))
        .unwrap();
    let used = driver.stats().enter_calls - enters;
    assert_eq!(
        early.len(),
        N,
        "one reap delivered {} of {N} ({used} enters)",
        early.len()
    );
    // The kernel ran the deferred work in slices (60 then 40 on 6.18), so the first enter
    // alone would have left completions behind: the test exercises the loop.
    assert!(
        used >= 2,
        "{used} enter ran all {N} deferred items: the loop was not exercised"
    );
    early.sort_unstable();
    early.dedup();
    assert_eq!(early.len(), N);
    assert_eq!(driver.in_flight(), 0);
}

#[test]
fn cq_overflow_loses_nothing() {
    const N: usize = 500;
    let mut driver = Driver::with_config(&Config {
        sq_entries: 8,
        cq_entries: 16,
        attach_wq: None,
    })
    .unwrap();
    assert_eq!(driver.info().sq_entries, 8);
    assert_eq!(driver.info().cq_entries, 16);
    for i in 0..N {
        driver.push(Box::new(op::Nop), i as u64).unwrap();
    }
    assert!(
        driver.stats().batches >= (N / 8 - 1) as u64,
        "the SQ fills and is submitted"
    );
    let done = collect(&mut driver, N, Duration::from_secs(10));
    let mut count = vec![0u32; N];
    for c in &done {
        assert_eq!(c.result, 0);
        assert!(c.is_final());
        count[c.token as usize] += 1;
    }
    assert!(
        count.iter().all(|&n| n == 1),
        "every nop delivered exactly once: {count:?}"
    );
    assert_eq!(driver.in_flight(), 0);
    // Nothing more comes.
    let mut extra = 0;
    driver.reap(boros::completions(|_| extra += 1)).unwrap();
    assert_eq!(extra, 0);
    assert_eq!(driver.stats().ops_completed, N as u64);
}

#[test]
fn read_buffer_comes_back_with_its_data() {
    let data: Vec<u8> = (0..10_000u32).map(|i| (i * 31 % 251) as u8).collect();
    let file = TempFile::with_contents("own", &data);
    let f = std::fs::File::open(&file.0).unwrap();
    let mut driver = Driver::new().unwrap();
    let buf = Vec::with_capacity(16_384);
    let ptr = buf.as_ptr();
    driver
        .push(Box::new(op::Read::new(f.as_raw_fd(), buf, 0)), 1)
        .unwrap();
    let mut done = collect(&mut driver, 1, Duration::from_secs(5));
    let n = done[0].result().unwrap();
    assert_eq!(n as usize, data.len());
    let buf = done[0]
        .take_op::<op::Read<Vec<u8>>>()
        .expect("the op comes back")
        .into_buf(n);
    assert_eq!(buf.as_ptr(), ptr, "the same allocation comes back");
    assert_eq!(buf, data);
    assert!(
        done[0].take_op::<op::Read<Vec<u8>>>().is_none(),
        "only once"
    );
}

#[test]
fn open_statx_read_close() {
    let data = b"boros reads files".repeat(100);
    let file = TempFile::with_contents("osrc", &data);
    let mut driver = Driver::new().unwrap();
    driver
        .push(
            Box::new(op::OpenAt::new(file.cpath(), libc::O_RDONLY, 0)),
            1,
        )
        .unwrap();
    driver
        .push(Box::new(op::Statx::path(file.cpath(), true)), 2)
        .unwrap();
    let mut fd = -1;
    let mut size = 0;
    for mut c in collect(&mut driver, 2, Duration::from_secs(5)) {
        let r = c.result().unwrap();
        match c.token {
            1 => fd = r as i32,
            2 => size = c.take_op::<op::Statx>().unwrap().result().stx_size,
            t => panic!("token {t}"),
        }
    }
    assert!(fd >= 0);
    assert_eq!(size, data.len() as u64);
    driver
        .push(
            Box::new(op::Read::new(fd, Vec::with_capacity(size as usize), 0)),
            3,
        )
        .unwrap();
    let mut done = collect(&mut driver, 1, Duration::from_secs(5));
    let n = done[0].result().unwrap();
    assert_eq!(
        done[0].take_op::<op::Read<Vec<u8>>>().unwrap().into_buf(n),
        data
    );
    driver.push(Box::new(op::Close::new(fd)), 4).unwrap();
    let done = collect(&mut driver, 1, Duration::from_secs(5));
    assert_eq!(done[0].result().unwrap(), 0);
    // SAFETY: fcntl on a closed descriptor only reports EBADF.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    assert_eq!(flags, -1, "closed by the ring");
}

#[test]
fn unsupported_error_names_op_and_kernels() {
    let e = PushError::Unsupported {
        op: "read_multishot",
        since: KernelVersion::new(6, 7, 0),
        running: KernelVersion::new(6, 1, 55),
    };
    let msg = e.to_string();
    for part in ["read_multishot", "6.7", "6.1.55"] {
        assert!(msg.contains(part), "{part:?} missing from {msg:?}");
    }
    let io: std::io::Error = e.into();
    assert_eq!(io.kind(), std::io::ErrorKind::Unsupported);
    assert!(io.to_string().contains("read_multishot"));
}

#[test]
fn linked_write_then_fsync() {
    let file = TempFile::new("chain");
    let f = std::fs::OpenOptions::new()
        .create_new(true)
        .write(true)
        .open(&file.0)
        .unwrap();
    let data = b"written, then synced".to_vec();
    let mut driver = Driver::new().unwrap();
    let keys = driver
        .push_chain(vec![
            (
                Box::new(op::Write::new(f.as_raw_fd(), data.clone(), 0)) as Box<dyn op::OpCode>,
                1,
            ),
            (Box::new(op::Fsync::new(f.as_raw_fd())), 2),
        ])
        .unwrap();
    assert_eq!(keys.len(), 2);
    let done = collect(&mut driver, 2, Duration::from_secs(10));
    let order: Vec<u64> = done.iter().map(|c| c.token).collect();
    assert_eq!(
        order,
        [1, 2],
        "the fsync completes after the write it is linked to"
    );
    assert_eq!(done[0].result().unwrap() as usize, data.len());
    assert_eq!(done[1].result().unwrap(), 0);
    assert_eq!(std::fs::read(&file.0).unwrap(), data);
}

#[test]
fn linked_chain_failure_cancels_the_rest() {
    let (rx, _tx) = pipe();
    let mut driver = Driver::new().unwrap();
    // Writing to the read end of a pipe fails (EBADF), so the linked nop is cancelled.
    driver
        .push_chain(vec![
            (
                Box::new(op::Write::new(rx.as_raw_fd(), b"x".to_vec(), 0)) as Box<dyn op::OpCode>,
                1,
            ),
            (Box::new(op::Nop), 2),
        ])
        .unwrap();
    let done = collect(&mut driver, 2, Duration::from_secs(5));
    let by_token = |t| done.iter().find(|c| c.token == t).unwrap().result;
    assert!(
        by_token(1) < 0,
        "write to a pipe's read end: {}",
        by_token(1)
    );
    assert_eq!(by_token(2), -libc::ECANCELED);
}

#[test]
fn wait_min_returns_what_came_once_the_minimum_wait_is_over() {
    let mut driver = Driver::new().unwrap();
    if !driver.info().min_wait {
        // Linux < 6.12: `wait_min` is a plain wait for one.
        assert!(driver.info().kernel_version < KernelVersion::new(6, 12, 0));
    }
    driver.push(Box::new(op::Nop), 7).unwrap();
    let t = std::time::Instant::now();
    // Asks for 8 completions, only one will come: the wait ends after the minimum wait (2 ms),
    // not at the 5 s timeout, and the one CQE is there.
    driver
        .wait_min(8, Duration::from_millis(2), Some(Duration::from_secs(5)))
        .unwrap();
    let waited = t.elapsed();
    let mut got = Vec::new();
    driver
        .reap(boros::completions(|c| got.push(c.token)))
        .unwrap();
    assert_eq!(got, [7]);
    assert!(waited < Duration::from_secs(1), "waited {waited:?}");
    if driver.info().min_wait {
        assert!(
            waited >= Duration::from_millis(1),
            "returned after {waited:?}: the minimum wait was not applied"
        );
    }
    // Without a timeout too: the minimum wait alone ends it.
    driver.push(Box::new(op::Nop), 8).unwrap();
    driver.wait_min(8, Duration::from_millis(2), None).unwrap();
    got.clear();
    driver
        .reap(boros::completions(|c| got.push(c.token)))
        .unwrap();
    assert_eq!(got, [8]);
}

/// The eventfd's counter, reset (0: nothing signalled it since the last read).
fn eventfd_count(fd: std::os::fd::RawFd) -> u64 {
    let mut v = 0u64;
    // SAFETY: reads 8 bytes into a local u64 from a non-blocking eventfd.
    let r = unsafe { libc::read(fd, (&mut v as *mut u64).cast(), 8) };
    if r == 8 {
        v
    } else {
        0
    }
}

#[test]
fn unregistered_eventfd_is_not_signalled() {
    let mut driver = Driver::new().unwrap();
    let fd = driver.eventfd();
    driver.push(Box::new(op::Nop), 1).unwrap();
    driver.wait(1, Some(Duration::from_secs(5))).unwrap();
    driver.reap(|_, _| {}).unwrap();
    assert!(eventfd_count(fd) > 0, "a completion signals the eventfd");
    driver.unregister_eventfd().unwrap();
    driver.push(Box::new(op::Nop), 2).unwrap();
    driver.wait(1, Some(Duration::from_secs(5))).unwrap();
    let mut got = Vec::new();
    driver
        .reap(boros::completions(|c| got.push(c.token)))
        .unwrap();
    assert_eq!(got, [2], "completions still come");
    assert_eq!(eventfd_count(fd), 0, "nothing signals it any more");
    driver.signal_eventfd();
    assert_eq!(eventfd_count(fd), 1, "the host still can");
}
