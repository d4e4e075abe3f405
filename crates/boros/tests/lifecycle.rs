//! The op lifecycle every host shares: ops that finish themselves ([`boros::Complete`]) and
//! ops whose owner went away ([`Driver::abandon`]), against the running kernel.

use boros::io_uring::squeue::Entry;
use boros::op::{self, Leftover, OpCode};
use boros::{Complete, Config, Cqe, Driver};
use std::ffi::CString;
use std::io::Read as _;
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A host context: what the ops below finish into.
#[derive(Default)]
struct Host {
    read: Vec<(u64, Vec<u8>)>,
    accepted: Vec<i32>,
    ended: Vec<i32>,
}

/// A read that hands its bytes to the host itself.
struct HostRead(op::Read<Vec<u8>>);

// SAFETY: delegates to `op::Read`, which owns its buffer.
unsafe impl OpCode for HostRead {
    fn entry(&mut self) -> Entry {
        self.0.entry()
    }
}

impl Complete<Host> for HostRead {
    fn complete(self: Box<Self>, cqe: &Cqe, host: &mut Host) {
        let n = cqe.result().expect("read");
        host.read.push((cqe.token, self.0.into_buf(n)));
    }
}

/// A multishot accept whose every connection reaches the host through `update`.
struct HostAccept(op::AcceptMulti);

// SAFETY: delegates to `op::AcceptMulti` (no pointers).
unsafe impl OpCode for HostAccept {
    fn entry(&mut self) -> Entry {
        self.0.entry()
    }
    fn leftover(&self, result: i32) -> Leftover {
        self.0.leftover(result)
    }
}

impl Complete<Host> for HostAccept {
    fn update(&mut self, cqe: &Cqe, host: &mut Host) {
        host.accepted.push(cqe.result);
    }
    fn complete(self: Box<Self>, cqe: &Cqe, host: &mut Host) {
        host.ended.push(cqe.result);
    }
}

fn temp(tag: &str, data: &[u8]) -> PathBuf {
    let p = std::env::temp_dir().join(format!("boros-lifecycle-{}-{tag}", std::process::id()));
    std::fs::write(&p, data).unwrap();
    p
}

fn cpath(p: &Path) -> CString {
    CString::new(p.as_os_str().as_encoded_bytes()).unwrap()
}

/// Descriptors of this process open on `path`.
fn open_on(path: &Path) -> usize {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|t| t == path)
        .count()
}

/// Reaps into `host` until `done` says so; panics after 5 s.
fn pump<O: ?Sized + Complete<Host>>(
    d: &mut Driver<O>,
    host: &mut Host,
    done: impl Fn(&Host, &mut Driver<O>) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        d.reap_into(host).unwrap();
        if done(host, d) {
            return;
        }
        assert!(Instant::now() < deadline, "timed out");
        d.wait(1, Some(Duration::from_millis(20))).unwrap();
    }
}

#[test]
fn ops_finish_themselves_into_the_host() {
    let path = temp("read", b"hello lifecycle");
    let file = std::fs::File::open(&path).unwrap();
    let mut d: Driver<dyn Complete<Host>> = Driver::build(&Config::default()).unwrap();
    for (token, at) in [(1, 0), (2, 6)] {
        let read = op::Read::new(file.as_raw_fd(), Vec::with_capacity(9), at);
        d.push(Box::new(HostRead(read)), token).unwrap();
    }
    let mut host = Host::default();
    pump(&mut d, &mut host, |h, _| h.read.len() == 2);
    host.read.sort();
    assert_eq!(host.read[0], (1, b"hello lif".to_vec()));
    assert_eq!(host.read[1], (2, b"lifecycle".to_vec()));
    std::fs::remove_file(&path).unwrap();
}

/// A listener on a free loopback port and a driver with a multishot accept (user data 7) on
/// it, submitted: the start of both accept tests.
fn accepting() -> (
    TcpListener,
    std::net::SocketAddr,
    Driver<dyn Complete<Host>>,
    boros::OpKey,
) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut d: Driver<dyn Complete<Host>> = Driver::build(&Config::default()).unwrap();
    let accept = HostAccept(op::AcceptMulti::new(listener.as_raw_fd()));
    let key = d.push(Box::new(accept), 7).unwrap();
    d.submit().unwrap();
    (listener, addr, d, key)
}

#[test]
fn multishot_updates_then_completes_through_the_same_trait() {
    let (_listener, addr, mut d, key) = accepting();
    let clients: Vec<_> = (0..3).map(|_| TcpStream::connect(addr).unwrap()).collect();
    let mut host = Host::default();
    pump(&mut d, &mut host, |h, _| h.accepted.len() == 3);
    assert!(
        host.accepted.iter().all(|&fd| fd >= 0),
        "{:?}",
        host.accepted
    );
    assert!(host.ended.is_empty(), "the op stays in flight");
    d.cancel(key).unwrap();
    pump(&mut d, &mut host, |h, _| h.ended.len() == 1);
    assert_eq!(host.ended, vec![-libc::ECANCELED]);
    for fd in host.accepted {
        // SAFETY: descriptors the accept gave this test.
        unsafe { libc::close(fd) };
    }
    drop(clients);
}

#[test]
fn abandoned_open_closes_the_descriptor_it_brings_back() {
    let path = temp("abandon-open", b"x");
    let mut d = Driver::new().unwrap();
    let key = d
        .push(
            Box::new(op::OpenAt::new(cpath(&path), libc::O_RDONLY, 0)),
            1,
        )
        .unwrap();
    // Abandoned before the submit: the open of a local file completes inline there, before
    // the cancel can find it, so its CQE brings a descriptor back that nobody takes.
    assert!(d.abandon(key).unwrap());
    let mut seen = 0;
    let deadline = Instant::now() + Duration::from_secs(5);
    while d.in_flight() > 0 {
        d.reap(|_, _| seen += 1).unwrap();
        assert!(Instant::now() < deadline, "timed out");
        if d.in_flight() > 0 {
            d.wait(1, Some(Duration::from_millis(20))).unwrap();
        }
    }
    assert_eq!(seen, 0, "an abandoned op's CQE reaches no sink");
    let s = d.stats();
    assert_eq!(s.orphans, 1);
    assert_eq!(s.leftovers_closed, 1, "{s:?}");
    assert_eq!(open_on(&path), 0, "the descriptor was closed");
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn abandoned_direct_open_closes_and_frees_its_slot() {
    let path = temp("abandon-direct", b"x");
    let mut d = Driver::new().unwrap();
    let Some(slot) = d.alloc_file_slot() else {
        eprintln!("skipped: the kernel refused a sparse file table");
        return;
    };
    let (size, free) = d.file_table().unwrap();
    assert_eq!(free, size - 1);
    let open = op::OpenAt::new(cpath(&path), libc::O_RDONLY, 0).direct(slot);
    let key = d.push(Box::new(open), 1).unwrap();
    assert!(d.abandon(key).unwrap());
    let deadline = Instant::now() + Duration::from_secs(5);
    // The open completes, the driver queues the slot's close, the close's CQE frees the slot.
    while d.file_table() != Some((size, size)) {
        d.reap(|_, _| panic!("nothing reaches the sink")).unwrap();
        assert!(
            Instant::now() < deadline,
            "slot never freed: {:?}",
            d.file_table()
        );
        d.wait(0, Some(Duration::from_millis(20))).unwrap();
    }
    assert_eq!(d.stats().leftovers_closed, 1);
    assert_eq!(d.stats().orphans, 1);
    assert_eq!(open_on(&path), 0);
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn abandoned_multishot_accept_closes_every_connection_it_still_brings() {
    let (_listener, addr, mut d, key) = accepting();
    let mut clients: Vec<_> = (0..3).map(|_| TcpStream::connect(addr).unwrap()).collect();
    // Let the kernel post the accepts' CQEs (deferred task work, run by this enter), then
    // abandon the op before reaping them: they come to an op nobody takes.
    d.wait(3, Some(Duration::from_secs(2))).unwrap();
    assert!(d.abandon(key).unwrap());
    let mut host = Host::default();
    pump(&mut d, &mut host, |_, d| d.in_flight() == 0);
    assert!(host.accepted.is_empty() && host.ended.is_empty());
    let s = d.stats();
    assert_eq!(s.orphans, 1);
    // Every connection the kernel accepted for the abandoned op was closed by the driver: its
    // client reads EOF.
    let closed = s.leftovers_closed as usize;
    assert_eq!(closed, 3, "{s:?}");
    let mut eof = 0;
    for c in &mut clients {
        c.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        if let Ok(0) = c.read(&mut [0u8; 1]) {
            eof += 1;
        }
    }
    assert_eq!(eof, closed, "{s:?}");
}

#[test]
fn abandoned_multishot_recv_gives_its_buffers_back() {
    use std::io::Write as _;
    use std::os::unix::net::UnixStream;
    let (a, mut b) = UnixStream::pair().unwrap();
    let mut d = Driver::new().unwrap();
    let Ok(ring) = d.register_buf_ring(4, 64) else {
        eprintln!("skipped: the kernel refused a provided-buffer ring (RLIMIT_MEMLOCK)");
        return;
    };
    let key = d
        .push(Box::new(op::RecvMulti::new(a.as_raw_fd(), ring.clone())), 1)
        .unwrap();
    d.submit().unwrap();
    // Fill all four buffers, let the kernel post their CQEs, then abandon the op before
    // reaping them: nobody leases those buffers, so the driver must give them back.
    for _ in 0..4 {
        b.write_all(&[7u8; 64]).unwrap();
    }
    d.wait(4, Some(Duration::from_secs(2))).unwrap();
    assert!(d.abandon(key).unwrap());
    let deadline = Instant::now() + Duration::from_secs(5);
    while d.in_flight() > 0 {
        d.reap(|_, _| panic!("an abandoned op's CQE reaches no sink"))
            .unwrap();
        assert!(Instant::now() < deadline, "timed out");
        d.wait(0, Some(Duration::from_millis(20))).unwrap();
    }
    assert_eq!(d.stats().orphans, 1);
    assert_eq!(ring.leased(), 0);
    // A new receive on the same group gets all 256 bytes of the next writes: the four
    // buffers are back in the ring (else it would end at once with -ENOBUFS).
    d.push(Box::new(op::RecvMulti::new(a.as_raw_fd(), ring.clone())), 2)
        .unwrap();
    d.submit().unwrap();
    let mut got = 0usize;
    let mut enobufs = false;
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut sent = 0;
    while got < 256 && !enobufs {
        if sent < 4 {
            b.write_all(&[9u8; 64]).unwrap();
            sent += 1;
        }
        d.reap(|cqe, _| {
            if cqe.result == -libc::ENOBUFS {
                enobufs = true;
            } else if cqe.result > 0 {
                assert_eq!(cqe.buffer.map(|(g, _)| g), Some(ring.bgid()));
                got += cqe.result as usize;
                // Keep every buffer: the four must have been free for 256 bytes to fit.
                std::mem::forget(ring.lease(&cqe));
            }
        })
        .unwrap();
        assert!(Instant::now() < deadline, "timed out with {got} bytes");
        if got < 256 {
            d.wait(0, Some(Duration::from_millis(20))).unwrap();
        }
    }
    assert!(
        !enobufs,
        "the group ran dry: the abandoned op's buffers were not recycled"
    );
    assert_eq!(got, 256);
    d.cancel_all().unwrap();
}
