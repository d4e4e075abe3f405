//! A socket dropped inside the loop closes at its drop, as std's and tokio's do, even when an
//! op of its own was abandoned in the same turn (a read, accept or `recv_from` future dropped
//! first). Such an op holds its own reference to the socket's file until its cancel has run,
//! and the loop runs cancels at its next enter: before the fix, `close(2)` at the drop did not
//! close the socket until the task yielded, so binding the same address again in the same
//! turn failed with `EADDRINUSE`, and the peer did not see the end of the stream.
//!
//! Each case drops the op and its socket and then, without yielding to the loop, checks the
//! socket is gone: it binds the address again, or reads the peer's end (a blocking std read
//! with a timeout: a hang fails through that timeout, not a measured time).

mod common;
use boros_rt::future::poll_once;
use boros_rt::net::{TcpListener, TcpStream, UdpSocket, UnixStream};
use boros_rt::{stats, yield_now};
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::pin::pin;
use std::time::Duration;

/// Queues `f` and lets the loop submit it, so that it is in flight in the kernel.
async fn in_flight<F: std::future::Future + Unpin>(f: &mut F) {
    assert!(poll_once(f).await.is_none(), "nothing was ready yet");
    yield_now().await;
    assert!(poll_once(f).await.is_none(), "still nothing ready");
}

#[test]
fn listener_with_accept_in_flight_frees_its_port_at_drop() {
    common::watchdog();
    boros_rt::block_on(async {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        {
            let mut accept = pin!(l.accept());
            in_flight(&mut accept.as_mut()).await;
        }
        drop(l);
        TcpListener::bind(addr).expect("the dropped listener still held its port");
    });
}

#[test]
fn listener_with_incoming_in_flight_frees_its_port_at_drop() {
    common::watchdog();
    boros_rt::block_on(async {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        {
            let mut incoming = l.incoming();
            let mut next = pin!(incoming.next());
            in_flight(&mut next.as_mut()).await;
        }
        drop(l);
        TcpListener::bind(addr).expect("the dropped listener still held its port");
    });
}

#[test]
fn udp_socket_with_recv_in_flight_frees_its_port_at_drop() {
    common::watchdog();
    boros_rt::block_on(async {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = s.local_addr().unwrap();
        {
            let mut recv = pin!(s.recv_from(vec![0u8; 64]));
            in_flight(&mut recv.as_mut()).await;
        }
        drop(s);
        UdpSocket::bind(addr).expect("the dropped socket still held its port");
    });
}

/// The peer reads the end of the stream, without the loop turning in between.
fn assert_end(peer: &mut impl Read, what: &str) {
    let mut buf = [0u8; 16];
    match peer.read(&mut buf) {
        Ok(0) => {}
        r => panic!("{what}: the peer did not see the end of the stream at the drop: {r:?}"),
    }
}

#[test]
fn tcp_stream_with_read_in_flight_closes_at_drop() {
    common::watchdog();
    boros_rt::block_on(async {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let ours = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
        let (mut peer, _) = l.accept().unwrap();
        peer.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        {
            let mut read = pin!(ours.read(vec![0u8; 64]));
            in_flight(&mut read.as_mut()).await;
        }
        drop(ours);
        assert_end(&mut peer, "TcpStream");
    });
}

#[test]
fn unix_stream_with_read_in_flight_closes_at_drop() {
    common::watchdog();
    boros_rt::block_on(async {
        let (ours, theirs) = UnixStream::pair().unwrap();
        // The peer as a std stream: a duplicate of its descriptor, and boros-rt's closed.
        // SAFETY: dup takes no pointers; the result is checked and owned by nobody else.
        let fd = unsafe { libc::dup(theirs.as_raw_fd()) };
        assert!(fd >= 0);
        // SAFETY: a fresh descriptor nothing else owns.
        let mut peer = std::os::unix::net::UnixStream::from(unsafe { OwnedFd::from_raw_fd(fd) });
        drop(theirs);
        peer.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        {
            let mut read = pin!(ours.read(vec![0u8; 64]));
            in_flight(&mut read.as_mut()).await;
        }
        drop(ours);
        assert_end(&mut peer, "UnixStream");
    });
}

/// The settling costs an enter only after an abandon: a socket dropped with nothing of its
/// own in flight closes with no `io_uring_enter`.
#[test]
fn a_socket_with_nothing_abandoned_closes_without_an_enter() {
    common::watchdog();
    boros_rt::block_on(async {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        yield_now().await;
        let before = stats().driver.enter_calls;
        drop(l);
        assert_eq!(stats().driver.enter_calls, before);
    });
}
