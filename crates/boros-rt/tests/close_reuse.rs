//! An op whose future is dropped before the loop submitted it, its stream (or file) closed
//! right after, in the same turn: the kernel looks the descriptor up only when it takes the
//! entry, so the op (and its cancel, queued behind it) must be submitted before the close,
//! or it reaches whatever the number names by then: a send goes to another socket's peer, a
//! receive takes another socket's data, a file write lands in another file, a datagram leaves
//! from another socket.
//!
//! Each scenario closes a descriptor and gives its number to a new socket or file at once
//! (`F_DUPFD`: the lowest free number from the one just closed), then lets the loop turn, and
//! checks that the newcomer was not touched. The tests run one at a time, in a binary of their
//! own: no other thread may take the number in between.

mod common;
use boros_rt::fs::File;
use boros_rt::future::poll_once;
use boros_rt::net::UnixStream;
use boros_rt::yield_now;
use common::fill;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::pin::pin;
use std::sync::{mpsc, Mutex};
use std::time::Duration;

/// A new descriptor for the file of `fd`, numbered `at` (just closed: free, as no other
/// thread of this binary opens descriptors), and `fd` closed.
fn renumber(fd: OwnedFd, at: RawFd) -> OwnedFd {
    // SAFETY: fcntl takes no pointers; the result is checked.
    let n = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, at) };
    assert_eq!(n, at, "the closed descriptor's number was not free");
    // SAFETY: a fresh descriptor nothing else owns.
    unsafe { OwnedFd::from_raw_fd(n) }
}

/// A boros-rt stream and its peer as a std stream.
fn pair() -> (UnixStream, std::os::unix::net::UnixStream) {
    let (ours, theirs) = UnixStream::pair().unwrap();
    // SAFETY: dup takes no pointers; the result is checked and owned by nobody else.
    let fd = unsafe { libc::dup(theirs.as_raw_fd()) };
    assert!(fd >= 0);
    // SAFETY: a fresh descriptor nothing else owns.
    let peer = std::os::unix::net::UnixStream::from(unsafe { OwnedFd::from_raw_fd(fd) });
    drop(theirs);
    (ours, peer)
}

/// Nothing to read on `s` (without blocking).
fn assert_nothing(s: &mut std::os::unix::net::UnixStream, what: &str) {
    s.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 64];
    match s.read(&mut buf) {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        r => panic!("{what}: {r:?}"),
    }
}

/// Runs `f` on a runtime in a thread, one test at a time (no other test's thread may take a
/// descriptor number in between), and fails if it does not end within a minute.
fn run<F: std::future::Future<Output = ()>>(
    f: impl FnOnce(std::path::PathBuf) -> F + Send + 'static,
) {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (tx, rx) = mpsc::channel();
    let h = std::thread::spawn(move || {
        let dir = std::env::temp_dir().join(format!(
            "boros-rt-reuse-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        boros_rt::block_on(f(dir.clone()));
        std::fs::remove_dir_all(&dir).unwrap();
        let _ = tx.send(());
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(()) => h.join().unwrap(),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            if let Err(e) = h.join() {
                std::panic::resume_unwind(e);
            }
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("hung for 60 s"),
    }
}

/// A send dropped before it was submitted (a `select` whose other branch was ready), then its
/// stream. The socket is full: submitted in time, the send waits and is cancelled.
#[test]
fn a_send_dropped_unsubmitted_never_reaches_the_next_socket_of_its_number() {
    run(|_| async {
        let (a, mut a_peer) = pair();
        let filled = fill(a.as_raw_fd());
        let n = a.as_raw_fd();
        {
            let mut w = pin!(a.write(vec![9u8; 4096]));
            assert!(poll_once(&mut w).await.is_none());
        }
        let (b, mut b_peer) = std::os::unix::net::UnixStream::pair().unwrap();
        drop(a);
        let b = renumber(b.into(), n);
        yield_now().await;
        yield_now().await;
        assert_nothing(
            &mut b_peer,
            "a send of a dropped stream went to the socket that took its number",
        );
        drop(b);
        let mut got = Vec::new();
        a_peer.read_to_end(&mut got).unwrap();
        assert_eq!(got.len(), filled, "the dropped stream's peer");
    });
}

/// The first read of a stream (it arms the multishot recv), dropped before it was submitted,
/// then the stream.
#[test]
fn a_read_dropped_unsubmitted_never_takes_the_next_socket_data() {
    run(|_| async {
        let (c, _c_peer) = pair();
        let n = c.as_raw_fd();
        {
            let mut r = pin!(c.read(Vec::with_capacity(64)));
            assert!(poll_once(&mut r).await.is_none());
        }
        let (e, mut e_peer) = std::os::unix::net::UnixStream::pair().unwrap();
        e_peer.write_all(b"for e").unwrap();
        drop(c);
        let e = renumber(e.into(), n);
        yield_now().await;
        yield_now().await;
        let mut e = std::os::unix::net::UnixStream::from(e);
        e.set_nonblocking(true).unwrap();
        let mut buf = [0u8; 16];
        let got = e.read(&mut buf);
        assert!(
            matches!(got, Ok(5)) && &buf[..5] == b"for e",
            "a receive of a dropped stream took the data of the socket that took its number: \
             {got:?}"
        );
    });
}

/// A file write dropped before it was submitted, then its file (a pipe: the kernel writes
/// to it at once, where a write to a new ext4 file goes to a worker first, and the cancel
/// behind it could win).
#[test]
fn a_file_write_dropped_unsubmitted_never_lands_in_the_next_file_of_its_number() {
    run(|_| async {
        let (_f_out, f_in) = pipe();
        let f = File::from_std(f_in.into());
        let n = f.as_raw_fd();
        {
            let mut w = pin!(f.write_at(b"for f".to_vec(), boros_rt::op::CURRENT_POSITION));
            assert!(poll_once(&mut w).await.is_none());
        }
        let (g_out, g_in) = pipe();
        drop(f);
        let g_in = renumber(g_in, n);
        yield_now().await;
        yield_now().await;
        drop(g_in);
        let mut got = Vec::new();
        std::fs::File::from(g_out).read_to_end(&mut got).unwrap();
        assert!(
            got.is_empty(),
            "a write of a dropped file landed in the file that took its number: {got:?}"
        );
    });
}

fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two descriptors into the array.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: fresh descriptors owned by nobody else.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

/// A UDP `send_to` dropped before it was submitted, then its socket: submitted in time, the
/// datagram leaves from that socket (a UDP send does not wait); never from the socket that
/// took the number.
#[test]
fn a_datagram_dropped_unsubmitted_never_leaves_from_the_next_socket_of_its_number() {
    run(|_| async {
        let rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        rx.set_nonblocking(true).unwrap();
        let to = rx.local_addr().unwrap();
        let a = boros_rt::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let a_addr = a.local_addr().unwrap();
        let n = a.as_raw_fd();
        {
            let mut s = pin!(a.send_to(b"from a".to_vec(), to));
            assert!(poll_once(&mut s).await.is_none());
        }
        let b = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let b_addr = b.local_addr().unwrap();
        drop(a);
        let b = renumber(b.into(), n);
        yield_now().await;
        yield_now().await;
        let mut buf = [0u8; 16];
        match rx.recv_from(&mut buf) {
            Ok((_, from)) => assert!(
                from == a_addr && from != b_addr,
                "a datagram of a dropped socket ({a_addr}) left from {from}, the socket that \
                 took its number being {b_addr}"
            ),
            // The cancel won (it cannot here: a UDP send does not wait, but that would be fine).
            Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock, "{e}"),
        }
        drop(b);
    });
}
