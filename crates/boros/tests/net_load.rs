//! Socket ops under load: thousands of connections, steady echo traffic.

mod common;

use boros::op::{self};
use boros::{net, Config, Driver};
use common::*;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

/// 2,000 connections in one burst on a ring with a 32-entry completion queue: multishot
/// accepts end when the CQ fills and are re-armed; every accept and every recv completes.
#[test]
fn burst_of_2000_connections_loses_no_completion() {
    const N: usize = 2000;
    let mut d = Driver::with_config(&Config {
        sq_entries: 16,
        cq_entries: 32,
        attach_wq: None,
    })
    .unwrap();
    let l = net::socket(libc::AF_INET, libc::SOCK_STREAM, 0).unwrap();
    net::bind(
        l.as_raw_fd(),
        &"127.0.0.1:0".parse::<SocketAddr>().unwrap().into(),
    )
    .unwrap();
    net::listen(l.as_raw_fd(), 4096).unwrap();
    let addr = net::local_addr(l.as_raw_fd()).unwrap().as_inet().unwrap();
    d.push(Box::new(op::AcceptMulti::new(l.as_raw_fd())), u64::MAX - 1)
        .unwrap();
    d.submit().unwrap();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let clients = std::thread::spawn(move || {
        let mut v = Vec::with_capacity(N);
        for i in 0..N {
            let mut s = TcpStream::connect(addr).unwrap();
            s.write_all(&[(i % 251) as u8]).unwrap();
            v.push(s);
        }
        done_rx.recv().unwrap();
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut conns: Vec<OwnedFd> = Vec::new();
    let mut received = 0usize;
    let mut accept_ends = 0;
    while conns.len() < N || received < N {
        for mut c in next_batch(&mut d, deadline) {
            if c.token == u64::MAX - 1 {
                if c.result >= 0 {
                    let fd = own(c.result as u32);
                    d.push(
                        Box::new(op::Recv::new(fd.as_raw_fd(), Vec::with_capacity(8))),
                        conns.len() as u64,
                    )
                    .unwrap();
                    conns.push(fd);
                } else {
                    assert!(c.is_final(), "accept error {}", c.result);
                }
                if c.is_final() {
                    assert!(
                        c.result >= 0 || c.result == -libc::EAGAIN,
                        "accept: {}",
                        c.result
                    );
                    accept_ends += 1;
                    if conns.len() < N {
                        d.push(Box::new(op::AcceptMulti::new(l.as_raw_fd())), u64::MAX - 1)
                            .unwrap();
                    }
                }
            } else {
                let n = c.result().expect("recv");
                assert_eq!(n, 1);
                let _ = c.take_op::<op::Recv<Vec<u8>>>().unwrap().into_buf(n);
                received += 1;
            }
        }
    }
    done_tx.send(()).unwrap();
    clients.join().unwrap();
    assert_eq!(conns.len(), N);
    assert_eq!(received, N);
    eprintln!("2000 connections through a 32-entry CQ: the multishot accept ended {accept_ends} times and was re-armed");
    // Drop the still-armed accept (if any) with the driver.
}

/// An echo under steady load: 30 clients (threads, blocking sockets) ping-pong 4,500-byte
/// messages for a second against a one-ring server (multishot accept, multishot recv into a
/// buffer ring, one send per connection per reap batch). `reap` used to spin inside the
/// kernel's `IORING_SQ_TASKRUN` flag under this load and never hand completions back: the
/// server stopped recycling buffers and sending, and every client stalled.
#[test]
fn echo_under_steady_load_keeps_flowing() {
    const CONNS: usize = 30;
    const SIZE: usize = 4500;
    let mut d = Driver::new().unwrap();
    let ring = d.register_buf_ring(1024, 4096).unwrap();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    d.push(Box::new(op::AcceptMulti::new(l.as_raw_fd())), u64::MAX)
        .unwrap();
    d.submit().unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let clients: Vec<_> = (0..CONNS)
        .map(|i| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(addr).unwrap();
                s.set_nodelay(true).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                let msg: Vec<u8> = (0..SIZE).map(|j| (i + j) as u8).collect();
                let mut back = vec![0u8; SIZE];
                let mut n = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    s.write_all(&msg).unwrap();
                    s.read_exact(&mut back).expect("the echo stalled");
                    assert!(back == msg);
                    n += 1;
                }
                n
            })
        })
        .collect();
    // Server state per connection: fd, bytes to send, whether a send is in flight.
    let mut conns: Vec<(OwnedFd, Vec<u8>, bool)> = Vec::new();
    let t0 = Instant::now();
    let mut stopped = false;
    let mut batch = Vec::new();
    loop {
        if !stopped && t0.elapsed() > Duration::from_secs(1) {
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            stopped = true;
        }
        if stopped && clients.iter().all(|c| c.is_finished()) {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(15),
            "the server loop stalled"
        );
        d.wait(1, Some(Duration::from_millis(50))).unwrap();
        d.reap(boros::completions(|c| batch.push(c))).unwrap();
        let mut dirty = Vec::new();
        for mut c in batch.drain(..) {
            if c.token == u64::MAX {
                if c.result >= 0 {
                    let fd = own(c.result as u32);
                    d.push(
                        Box::new(op::RecvMulti::new(fd.as_raw_fd(), ring.clone())),
                        conns.len() as u64 * 2,
                    )
                    .unwrap();
                    conns.push((fd, Vec::new(), false));
                }
                if c.is_final() {
                    d.push(Box::new(op::AcceptMulti::new(l.as_raw_fd())), u64::MAX)
                        .unwrap();
                }
                continue;
            }
            let i = (c.token / 2) as usize;
            if c.token % 2 == 0 {
                if let Some(lease) = ring.lease(&c) {
                    conns[i].1.extend_from_slice(&lease);
                    dirty.push(i);
                }
                if c.is_final() && (c.result > 0 || c.result == -libc::ENOBUFS) {
                    let fd = conns[i].0.as_raw_fd();
                    d.push(Box::new(op::RecvMulti::new(fd, ring.clone())), c.token)
                        .unwrap();
                }
            } else {
                let n = c.result().expect("send") as usize;
                let mut rest = c.take_op::<op::Send<Vec<u8>>>().unwrap().into_buf();
                rest.drain(..n);
                rest.extend_from_slice(&conns[i].1);
                conns[i].1 = rest;
                conns[i].2 = false;
                dirty.push(i);
            }
        }
        for i in dirty {
            let (fd, out, sending) = &mut conns[i];
            if !*sending && !out.is_empty() {
                *sending = true;
                let data = std::mem::take(out);
                d.push(
                    Box::new(op::Send::new(fd.as_raw_fd(), data)),
                    i as u64 * 2 + 1,
                )
                .unwrap();
            }
        }
    }
    let total: u64 = clients.into_iter().map(|c| c.join().unwrap()).sum();
    eprintln!("echo under load: {total} round trips of {SIZE} B over {CONNS} connections in ~1 s");
    assert!(total > CONNS as u64);
}
