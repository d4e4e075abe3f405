//! Closing a stream under a send its peer never reads (issue 21's close class, checked in
//! boros-rt; the Node binding's fix is `Driver::cancel_fd`).
//!
//! A ring send (or a multishot recv) holds its own reference to the socket's file, so closing
//! the descriptor does not end it: only a cancel does, and the socket is really closed (the
//! peer sees the end of the stream) when the op's final CQE comes. In boros-rt every op a
//! stream starts borrows the stream (or, for `Compat`'s write-behind send, is owned by the
//! adapter next to it), so the op's future is dropped before the stream, and its drop queues
//! the cancel. The loop submits that cancel in its next turn; these tests check that it also
//! goes in when there is no next turn: when the future was dropped in `block_on`'s last poll
//! (a `timeout` that fired, a `Compat` dropped unflushed as the main future returned), or
//! outside `block_on`, while the runtime lives on unused.
//!
//! Each case: a peer that never reads (the socket filled first, with small buffers), a send
//! that waits for room, its future dropped with the stream that started it, in one of three
//! [`Way`]s; then, with the runtime still alive and not running, the runtime's in-flight count
//! must be back where it was (its own wake-up read), every buffer the sends took freed (their
//! final CQEs reaped), and the peer, reading at last, must reach the end of the stream after
//! the bytes that were sent (the cancelled send sent all of its buffer: never). A hang fails
//! through the deadline each case runs under, not through a measured time.

mod common;
use boros_rt::buf::IoBuf;
use boros_rt::future::poll_once;
use boros_rt::net::{TcpStream, UnixStream};
use boros_rt::time::sleep;
use boros_rt::{stats, yield_now, Runtime};
use common::fill;
use std::cell::Cell;
use std::future::Future;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::sync::mpsc;
use std::time::Duration;

/// Bytes each send is given: far more than the small socket buffers hold.
const BIG: usize = 1 << 20;
/// Turns of the loop a case may take to fill the socket, or to see a dropped op end.
const TURNS: u32 = 10_000;

/// How the send's future (and the stream it borrows) is dropped.
#[derive(Clone, Copy, Debug)]
enum Way {
    /// In a task while the loop runs on (the loop submits the cancel in its next turn).
    InLoop,
    /// In the main future's last poll: `block_on` returns right after.
    AtReturn,
    /// Outside `block_on`: the pending future is carried out of it and dropped there.
    Outside,
}

/// What is in flight on the stream when it is dropped.
#[derive(Clone, Copy, Debug)]
enum Kind {
    /// `TcpStream::write` (one `IORING_OP_SEND`).
    Write,
    /// `UnixStream::write_all` (sends in a loop).
    WriteAll,
    /// `TcpStream::send_zc` (`IORING_OP_SEND_ZC`: a multishot op of two CQEs).
    SendZc,
    /// `Compat<TcpStream>`'s write-behind send (`poll_write` returned, the send in flight).
    #[cfg_attr(not(feature = "tokio-io"), allow(dead_code))]
    Compat,
    /// No send: `UnixStream::read`'s multishot recv, armed (it holds the file too).
    Read,
}

/// Runs `f` in a thread and fails if it does not end within a minute (a hang is a failure).
fn deadline(name: String, f: impl FnOnce() + Send + 'static) {
    let (tx, rx) = mpsc::channel();
    let h = std::thread::Builder::new()
        .name(name.clone())
        .spawn(move || {
            f();
            let _ = tx.send(());
        })
        .unwrap();
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(()) => h.join().unwrap(),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            if let Err(e) = h.join() {
                std::panic::resume_unwind(e);
            }
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!(
            "{name}: hung for 60 s (the peer never saw the end of the stream: a dropped op \
             still holds the socket)"
        ),
    }
}

fn set_int(fd: RawFd, level: i32, name: i32, v: i32) {
    // SAFETY: the value is a local i32 whose size is passed; the descriptor is open.
    let r = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&v as *const i32).cast(),
            std::mem::size_of::<i32>() as u32,
        )
    };
    assert_eq!(r, 0, "setsockopt: {}", std::io::Error::last_os_error());
}

/// Bytes in a TCP socket's send queue: not acknowledged (`SIOCOUTQ`), and of those, not sent
/// (`SIOCOUTQNSD`).
fn out_queue(fd: RawFd) -> (i32, i32) {
    const SIOCOUTQNSD: libc::c_ulong = 0x894B;
    let (mut all, mut unsent) = (0i32, 0i32);
    // SAFETY: each ioctl writes one int into a local.
    unsafe {
        assert_eq!(libc::ioctl(fd, libc::TIOCOUTQ, &mut all), 0);
        assert_eq!(libc::ioctl(fd, SIOCOUTQNSD, &mut unsent), 0);
    }
    (all, unsent)
}

/// As [`fill`], until the TCP socket is full for good: what it sent was acknowledged
/// (nothing in flight, so no acknowledgement will make room) and it takes nothing more. Then
/// a send waits for room from its first try, sending nothing (a zero-copy send that sent part
/// of its buffer waits for its notification until the peer reads).
fn fill_tcp(fd: RawFd) -> usize {
    let mut total = fill(fd);
    for _ in 0..1_000_000 {
        let (all, unsent) = out_queue(fd);
        if all != unsent {
            // Segments in flight: their acknowledgements will free room.
            std::thread::yield_now();
            continue;
        }
        match fill(fd) {
            0 => return total,
            n => total += n,
        }
    }
    panic!("the socket's send queue never settled");
}

/// Our end of the connection, not yet a boros-rt stream (a TCP one is made inside the task).
enum Ours {
    Tcp(std::net::TcpStream),
    Unix(UnixStream),
}

/// A connected pair with small buffers: ours, and the peer (std, blocking).
fn connect(kind: Kind) -> (Ours, Box<dyn Read>) {
    match kind {
        Kind::Write | Kind::SendZc | Kind::Compat => {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            // Inherited by the accepted peer (and its window is set from it at the handshake).
            set_int(l.as_raw_fd(), libc::SOL_SOCKET, libc::SO_RCVBUF, 4096);
            let ours = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
            let (peer, _) = l.accept().unwrap();
            set_int(ours.as_raw_fd(), libc::SOL_SOCKET, libc::SO_SNDBUF, 4096);
            (Ours::Tcp(ours), Box::new(peer))
        }
        Kind::WriteAll | Kind::Read => {
            let (ours, theirs) = UnixStream::pair().unwrap();
            set_int(ours.as_raw_fd(), libc::SOL_SOCKET, libc::SO_SNDBUF, 4096);
            // SAFETY: dup takes no pointers; the result is checked and owned by nobody else.
            let fd = unsafe { libc::dup(theirs.as_raw_fd()) };
            assert!(fd >= 0);
            // SAFETY: a fresh descriptor nothing else owns.
            let peer = std::os::unix::net::UnixStream::from(unsafe { OwnedFd::from_raw_fd(fd) });
            // Never read by boros-rt (no op on it): closing it here leaves the duplicate.
            drop(theirs);
            (Ours::Unix(ours), Box::new(peer))
        }
    }
}

/// What a case's task reports.
#[derive(Clone, Default)]
struct Probe {
    /// The op in flight now found no room after a whole turn: it waits for the peer.
    waiting: Rc<Cell<bool>>,
    /// Bytes sends that completed took (before one had to wait).
    sent: Rc<Cell<usize>>,
    /// Buffers handed to sends and not freed yet.
    live: Rc<Cell<usize>>,
}

impl Probe {
    fn buf(&self) -> Tracked {
        self.live.set(self.live.get() + 1);
        Tracked {
            v: vec![7u8; BIG],
            live: self.live.clone(),
        }
    }
}

/// A send's buffer that counts itself out when freed (by its owner, or by the driver at the
/// op's final CQE).
struct Tracked {
    v: Vec<u8>,
    live: Rc<Cell<usize>>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.live.set(self.live.get() - 1);
    }
}

// SAFETY: delegates to the Vec, whose heap block does not move with the struct.
unsafe impl IoBuf for Tracked {
    fn stable_ptr(&self) -> *const u8 {
        self.v.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.v.len()
    }
}

/// Polls `f` once (queueing its op), lets the loop turn once (submitting it: the kernel tries
/// it at once), then polls it again: `None` if the op is still waiting.
async fn poll_after_turn<F: Future + Unpin>(f: &mut F) -> Option<F::Output> {
    if let Some(v) = poll_once(f).await {
        return Some(v);
    }
    yield_now().await;
    poll_once(f).await
}

/// Sends one buffer after another (`send` starts each), marking `waiting` while a send has not
/// completed after a loop turn: the peer stopped reading and the send waits for room.
async fn keep_sending<Fut, B>(p: &Probe, mut send: impl FnMut() -> Fut)
where
    Fut: Future<Output = (std::io::Result<usize>, B)>,
{
    loop {
        let mut w = pin!(send());
        let (r, _) = match poll_after_turn(&mut w).await {
            Some(done) => done,
            None => {
                p.waiting.set(true);
                w.await
            }
        };
        p.waiting.set(false);
        p.sent.set(p.sent.get() + r.unwrap());
    }
}

/// The task of a case: owns the stream, sends until a send has to wait for the peer, and
/// keeps that send in flight (marking `waiting`).
fn start(kind: Kind, ours: Ours, p: Probe) -> Pin<Box<dyn Future<Output = ()>>> {
    match (kind, ours) {
        (Kind::Write, Ours::Tcp(s)) => Box::pin(async move {
            let s = TcpStream::from_std(s);
            keep_sending(&p, || s.write(p.buf())).await
        }),
        (Kind::SendZc, Ours::Tcp(s)) => Box::pin(async move {
            let s = TcpStream::from_std(s);
            keep_sending(&p, || s.send_zc(p.buf())).await
        }),
        (Kind::WriteAll, Ours::Unix(s)) => Box::pin(async move {
            let mut w = pin!(s.write_all(p.buf()));
            if poll_after_turn(&mut w).await.is_some() {
                panic!("a megabyte went to a peer that never reads");
            }
            p.waiting.set(true);
            let _ = w.await;
            panic!("a megabyte went to a peer that never reads");
        }),
        (Kind::Read, Ours::Unix(s)) => Box::pin(async move {
            let mut r = pin!(s.read(Vec::with_capacity(64)));
            if poll_after_turn(&mut r).await.is_some() {
                panic!("a read returned though the peer sends nothing");
            }
            p.waiting.set(true);
            let _ = r.await;
            panic!("a read returned though the peer sends nothing");
        }),
        #[cfg(feature = "tokio-io")]
        (Kind::Compat, Ours::Tcp(s)) => Box::pin(async move {
            use tokio::io::AsyncWriteExt;
            let mut io = boros_rt::compat::Compat::new(TcpStream::from_std(s));
            let chunk = vec![7u8; 64 * 1024];
            loop {
                // Write-behind: returns at once, the send in flight.
                let n = io.write(&chunk).await.unwrap();
                let flushed = {
                    let mut f = pin!(io.flush());
                    poll_after_turn(&mut f).await
                };
                match flushed {
                    Some(r) => {
                        r.unwrap();
                        p.sent.set(p.sent.get() + n);
                    }
                    None => {
                        // Kept (unflushed) with its send in flight, as a caller that drops
                        // it without a flush does.
                        p.waiting.set(true);
                        std::future::pending::<()>().await;
                    }
                }
            }
        }),
        (kind, _) => unreachable!("{kind:?} on the wrong transport"),
    }
}

fn case(kind: Kind, way: Way) {
    deadline(format!("{kind:?}-{way:?}"), move || {
        let rt = Runtime::new().unwrap();
        let (ours, mut peer) = connect(kind);
        let filled = match (&ours, kind) {
            (_, Kind::Read) => 0,
            (Ours::Tcp(s), _) => fill_tcp(s.as_raw_fd()),
            (Ours::Unix(s), _) => fill(s.as_raw_fd()),
        };
        let p = Probe::default();
        // The loop's own wake-up read is armed at its first idle wait, and stays armed.
        let baseline = rt.block_on(async {
            sleep(Duration::from_millis(1)).await;
            stats().driver.in_flight
        });
        let probe = p.clone();
        let carried = rt.block_on(async move {
            let mut task = start(kind, ours, probe.clone());
            let mut turns = 0;
            while !probe.waiting.get() {
                assert!(poll_once(&mut task).await.is_none());
                // A turn of the loop between polls: the task's ops are submitted.
                yield_now().await;
                turns += 1;
                assert!(turns < TURNS, "the socket never filled");
            }
            assert!(stats().driver.in_flight > baseline);
            match way {
                Way::InLoop => {
                    drop(task);
                    let mut turns = 0;
                    while stats().driver.in_flight != baseline {
                        yield_now().await;
                        turns += 1;
                        assert!(turns < TURNS, "the dropped op never ended");
                    }
                    None
                }
                Way::AtReturn => {
                    drop(task);
                    None
                }
                Way::Outside => Some(task),
            }
        });
        drop(carried);
        // The runtime lives on, not running: nothing may be left waiting for its next turn.
        assert_eq!(
            rt.stats().driver.in_flight,
            baseline,
            "{kind:?} dropped {way:?}: an op is still in flight, holding the socket open"
        );
        assert_eq!(p.live.get(), 0, "a send's buffer was not freed");
        let mut got = 0usize;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match peer.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) => panic!("the peer's read: {e}"),
            }
        }
        let want = filled + p.sent.get();
        assert!(
            got >= want && got < want + BIG,
            "the peer got {got} bytes; {want} were sent before the send that was cancelled"
        );
        drop(rt);
    });
}

macro_rules! cases {
    ($($name:ident: $kind:ident, $way:ident;)*) => {
        $(
            #[test]
            fn $name() {
                case(Kind::$kind, Way::$way);
            }
        )*
    };
}

cases! {
    write_dropped_in_loop: Write, InLoop;
    write_dropped_at_return: Write, AtReturn;
    write_dropped_outside: Write, Outside;
    write_all_dropped_in_loop: WriteAll, InLoop;
    write_all_dropped_at_return: WriteAll, AtReturn;
    write_all_dropped_outside: WriteAll, Outside;
    send_zc_dropped_in_loop: SendZc, InLoop;
    send_zc_dropped_at_return: SendZc, AtReturn;
    send_zc_dropped_outside: SendZc, Outside;
    read_dropped_in_loop: Read, InLoop;
    read_dropped_at_return: Read, AtReturn;
    read_dropped_outside: Read, Outside;
}

#[cfg(feature = "tokio-io")]
cases! {
    compat_dropped_in_loop: Compat, InLoop;
    compat_dropped_at_return: Compat, AtReturn;
    compat_dropped_outside: Compat, Outside;
}
