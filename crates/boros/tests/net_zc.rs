//! Zero-copy sends (`SEND_ZC` 6.0, `SENDMSG_ZC` 6.1) on real loopback sockets: the two CQEs,
//! the memory held until the notification, a driver dropped with one in flight, a peer that
//! resets. (`net_multishot.rs` has the plain `SendZc` round trips.)

mod common;

use boros::buf::IoBuf;
use boros::io_uring::opcode;
use boros::op;
use boros::{Completion, Driver};
use common::*;
use std::cell::Cell;
use std::io::Read as _;
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::time::Duration;

/// Bytes that flag when they are dropped (the op let go of them).
struct Flagged {
    bytes: Vec<u8>,
    dropped: Rc<Cell<bool>>,
}

impl Drop for Flagged {
    fn drop(&mut self) {
        self.dropped.set(true);
    }
}

// SAFETY: a Vec's heap memory does not move when the Vec (or this struct) moves.
unsafe impl IoBuf for Flagged {
    fn stable_ptr(&self) -> *const u8 {
        self.bytes.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.bytes.len()
    }
}

fn flagged(bytes: Vec<u8>) -> (Flagged, Rc<Cell<bool>>) {
    let dropped = Rc::new(Cell::new(false));
    let f = Flagged {
        bytes,
        dropped: dropped.clone(),
    };
    (f, dropped)
}

fn has_zc(d: &Driver) -> bool {
    let s = &d.info().support;
    s.has(opcode::SendZc::CODE) && s.has(opcode::SendMsgZc::CODE)
}

/// A head and a body in one `SENDMSG_ZC`: a result CQE (non-final, the op still the driver's,
/// the buffers not dropped), then the notification, final, with both buffers back; the peer
/// gets every byte in order.
#[test]
fn sendmsg_zc_holds_every_buffer_until_the_notification() {
    let mut d = Driver::new().unwrap();
    if !has_zc(&d) {
        eprintln!("skipped: SENDMSG_ZC needs Linux 6.1");
        return;
    }
    let (s, mut c) = tcp_pair(false);
    let head = b"HTTP/1.1 200 OK\r\nContent-Length: 262144\r\n\r\n".to_vec();
    let body = pattern(256 << 10);
    let mut want = head.clone();
    want.extend_from_slice(&body);
    let total = want.len();
    let reader = std::thread::spawn(move || {
        let mut got = vec![0u8; total];
        c.read_exact(&mut got).unwrap();
        got
    });
    let (h, h_dropped) = flagged(head);
    let (b, b_dropped) = flagged(body);
    let send = op::SendMsg::new(s.as_raw_fd(), vec![h, b]).zero_copy(true);
    assert!(send.is_zero_copy());
    let key = d.push(Box::new(send), 0).unwrap();
    let mut seen: Vec<Completion> = Vec::new();
    let deadline = std::time::Instant::now() + LIMIT;
    while !seen.iter().any(Completion::is_final) {
        for c in next_batch(&mut d, deadline) {
            if !c.is_final() {
                // The kernel may still read the buffers: the op must still hold them.
                assert!(!h_dropped.get() && !b_dropped.get());
            }
            seen.push(c);
        }
    }
    assert_eq!(seen.len(), 2, "a result and a notification");
    assert_eq!(seen[0].key, key);
    assert!(seen[0].has_more());
    assert!(!op::SendZc::<Vec<u8>>::is_notification(seen[0].flags));
    assert_eq!(seen[0].result().unwrap() as usize, total);
    assert!(op::SendZc::<Vec<u8>>::is_notification(seen[1].flags));
    eprintln!(
        "sendmsg_zc notification: copied={}",
        op::SendZc::<Vec<u8>>::copied(seen[1].result, seen[1].flags)
    );
    assert!(!h_dropped.get() && !b_dropped.get());
    let op = seen[1].take_op::<op::SendMsg<Flagged>>().unwrap();
    assert_eq!(op.bufs().len(), 2);
    drop(op);
    assert!(h_dropped.get() && b_dropped.get());
    assert_eq!(reader.join().unwrap(), want);
    assert_eq!(d.in_flight(), 0);
}

/// A driver dropped while a zero-copy send waits for a slow reader: the drop waits for the
/// final CQE (the notification) before the buffer goes, and the reader gets a prefix of
/// what was sent, byte for byte (the drop cancels what had not left yet).
#[test]
fn a_driver_dropped_with_a_zero_copy_send_in_flight_keeps_its_buffer_to_the_end() {
    let d = Driver::new().unwrap();
    if !has_zc(&d) {
        eprintln!("skipped: SEND_ZC needs Linux 6.0");
        return;
    }
    let mut d = d;
    let (s, mut c) = tcp_pair(false);
    let len = 8 << 20;
    let reader = std::thread::spawn(move || {
        // Not reading yet: the send fills the socket and waits.
        std::thread::sleep(Duration::from_millis(100));
        let mut got = Vec::new();
        c.read_to_end(&mut got).unwrap();
        got
    });
    let (buf, dropped) = flagged(pattern(len));
    d.push(Box::new(op::SendZc::new(s.as_raw_fd(), buf)), 0)
        .unwrap();
    d.submit().unwrap();
    std::thread::sleep(Duration::from_millis(20));
    assert!(!dropped.get());
    drop(d);
    assert!(
        dropped.get(),
        "the buffer goes with the driver, after the last CQE"
    );
    drop(s);
    let got = reader.join().unwrap();
    assert!(got.len() <= len);
    assert!(
        got == pattern(got.len()),
        "the peer got a prefix of the buffer"
    );
}

/// The peer resets (`SO_LINGER` 0, then close) while a large zero-copy send is blocked on
/// it: the send ends (an error or a short count), the op's last CQE comes, the buffer is
/// given back, and nothing is left in flight.
#[test]
fn a_zero_copy_send_to_a_peer_that_resets_ends_and_gives_its_buffer_back() {
    let mut d = Driver::new().unwrap();
    if !has_zc(&d) {
        eprintln!("skipped: SEND_ZC needs Linux 6.0");
        return;
    }
    let (s, c) = tcp_pair(false);
    let len = 16 << 20;
    let (buf, dropped) = flagged(pattern(len));
    d.push(Box::new(op::SendZc::new(s.as_raw_fd(), buf)), 0)
        .unwrap();
    d.submit().unwrap();
    std::thread::sleep(Duration::from_millis(30));
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid descriptor and a linger struct of the size given.
    let r = unsafe {
        libc::setsockopt(
            c.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            &linger as *const libc::linger as *const libc::c_void,
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(r, 0);
    drop(c);
    let all = until_finals(&mut d, 1);
    let result = all
        .iter()
        .find(|c| !op::SendZc::<Vec<u8>>::is_notification(c.flags))
        .expect("a result CQE")
        .result;
    assert!(
        result == -libc::ECONNRESET
            || result == -libc::EPIPE
            || (result >= 0 && (result as usize) < len),
        "result {result}"
    );
    let mut last = all.into_iter().last().unwrap();
    assert!(last.is_final());
    drop(last.take_op::<op::SendZc<Flagged>>().unwrap());
    assert!(dropped.get());
    assert_eq!(d.in_flight(), 0);
    // The socket is dead: another send fails (its result CQE; a notification may follow).
    d.push(Box::new(op::SendZc::new(s.as_raw_fd(), vec![1u8; 4096])), 0)
        .unwrap();
    let again = until_finals(&mut d, 1);
    let r = again[0].result;
    assert!(!op::SendZc::<Vec<u8>>::is_notification(again[0].flags));
    assert!(r == -libc::EPIPE || r == -libc::ECONNRESET, "result {r}");
    assert_eq!(d.in_flight(), 0);
}
