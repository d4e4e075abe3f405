//! Helpers of the integration tests: a driver's completions until a deadline, pipes (driver.rs,
//! cancel.rs); loopback pairs, sending and receiving all of a buffer (the socket tests).
#![allow(dead_code)]

use boros::op::{self, OpCode};
use boros::{Completion, Driver};
use std::net::{Ipv6Addr, TcpListener, TcpStream};
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

pub const LIMIT: Duration = Duration::from_secs(20);

/// Waits for and returns the next batch of completions (at least one).
pub fn next_batch(d: &mut Driver, deadline: Instant) -> Vec<Completion> {
    loop {
        let mut got = Vec::new();
        d.reap(boros::completions(|c| got.push(c))).unwrap();
        if !got.is_empty() {
            return got;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for completions ({} ops in flight)",
            d.in_flight()
        );
        d.wait(1, Some(Duration::from_millis(20))).unwrap();
    }
}

/// Collects completions until `n` final ones arrived; returns every completion, in order.
pub fn until_finals(d: &mut Driver, n: usize) -> Vec<Completion> {
    let deadline = Instant::now() + LIMIT;
    let mut all = Vec::new();
    while all.iter().filter(|c: &&Completion| c.is_final()).count() < n {
        all.extend(next_batch(d, deadline));
    }
    all
}

/// Pushes one op and returns its final completion (non-final ones are dropped).
pub fn run1(d: &mut Driver, op: Box<dyn OpCode>) -> Completion {
    let key = d.push(op, 0).unwrap();
    until_finals(d, 1)
        .into_iter()
        .find(|c| c.is_final() && c.key == key)
        .unwrap()
}

pub fn own(fd: u32) -> OwnedFd {
    // SAFETY: the descriptor came from a CQE just now; nothing else owns it.
    unsafe { OwnedFd::from_raw_fd(fd as RawFd) }
}

pub fn tcp_pair(v6: bool) -> (TcpStream, TcpStream) {
    let l = if v6 {
        TcpListener::bind((Ipv6Addr::LOCALHOST, 0)).unwrap()
    } else {
        TcpListener::bind("127.0.0.1:0").unwrap()
    };
    let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (s, _) = l.accept().unwrap();
    (s, c)
}

pub fn send_all(d: &mut Driver, fd: RawFd, data: &[u8]) {
    let mut off = 0;
    while off < data.len() {
        let c = run1(d, Box::new(op::Send::new(fd, data[off..].to_vec())));
        off += c.result().expect("send") as usize;
    }
}

pub fn recv_exact(d: &mut Driver, fd: RawFd, n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    while out.len() < n {
        let mut c = run1(
            d,
            Box::new(op::Recv::new(fd, Vec::with_capacity(n - out.len()))),
        );
        let got = c.result().expect("recv");
        assert!(
            got > 0,
            "unexpected end of stream after {} bytes",
            out.len()
        );
        out.extend(c.take_op::<op::Recv<Vec<u8>>>().unwrap().into_buf(got));
    }
    out
}

pub fn has_bind_listen(d: &Driver) -> bool {
    let s = &d.info().support;
    s.has(boros::io_uring::opcode::Bind::CODE) && s.has(boros::io_uring::opcode::Listen::CODE)
}

pub fn run_finals_only(d: &mut Driver) -> Completion {
    until_finals(d, 1)
        .into_iter()
        .find(|c| c.is_final())
        .unwrap()
}

pub fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 % 251) as u8).collect()
}

pub fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two descriptors into the array we pass.
    let r = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    assert_eq!(r, 0, "pipe2: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors are fresh and owned by nobody else.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

/// Reaps until `n` completions arrived (all of them, in order), waiting in between; panics
/// after `limit`.
pub fn collect(driver: &mut Driver, n: usize, limit: Duration) -> Vec<Completion> {
    let deadline = Instant::now() + limit;
    let mut out = Vec::new();
    while out.len() < n {
        out.extend(next_batch(driver, deadline));
    }
    out
}
