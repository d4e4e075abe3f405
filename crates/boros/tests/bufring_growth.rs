//! A growable provided-buffer group (the ring's shared group) against real loopback sockets:
//! it grows when multishot receives find it empty, stays small under light use, and shrinks
//! back when demand drops, without losing or reordering a byte.

mod common;

use boros::op;
use boros::{BufRing, Driver};
use common::*;
use std::io::Write as _;
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// Multishot receives on every socket of `socks` into `ring`, re-armed after `-ENOBUFS` and
/// after a final CQE with data; each CQE's buffer is leased and given back inside the reap, as
/// the Node binding does. Returns each socket's bytes once every one reached end of stream.
fn recv_all(d: &mut Driver, ring: &Rc<BufRing>, socks: &[TcpStream]) -> Vec<Vec<u8>> {
    let arm = |d: &mut Driver, i: usize| {
        d.push(
            Box::new(op::RecvMulti::new(socks[i].as_raw_fd(), ring.clone())),
            i as u64,
        )
        .unwrap();
    };
    for i in 0..socks.len() {
        arm(d, i);
    }
    let mut data = vec![Vec::new(); socks.len()];
    let mut done = vec![false; socks.len()];
    let deadline = Instant::now() + LIMIT;
    while done.iter().any(|d| !d) {
        let mut rearm = Vec::new();
        d.reap(boros::completions(|c| {
            let i = c.token as usize;
            if let Some(lease) = ring.lease(&c) {
                data[i].extend_from_slice(&lease);
            }
            if c.is_final() {
                match c.result {
                    0 => done[i] = true,
                    r if r > 0 || r == -libc::ENOBUFS => rearm.push(i),
                    r => panic!("recv {i} failed: {r}"),
                }
            }
        }))
        .unwrap();
        for i in rearm {
            arm(d, i);
        }
        assert!(Instant::now() < deadline, "timed out");
        d.wait(1, Some(Duration::from_millis(20))).unwrap();
    }
    data
}

#[test]
fn the_shared_group_grows_when_receives_find_it_empty() {
    let mut d = Driver::new().unwrap();
    let ring = d.shared_buf_ring(64, 16, 4, 4096).unwrap().unwrap();
    assert_eq!(ring.circulating(), 4);
    // 32 connections with 16 KiB each waiting before the receives are armed: the first pass
    // wants 128 buffers of 4 KiB, and the group has 4.
    let mut servers = Vec::new();
    for n in 0..32usize {
        let (s, mut c) = tcp_pair(false);
        let mut bytes = pattern(16 * 1024 + n);
        bytes.rotate_left(n);
        c.write_all(&bytes).unwrap();
        c.shutdown(std::net::Shutdown::Write).unwrap();
        servers.push((s, c, bytes));
    }
    let socks: Vec<TcpStream> = servers
        .iter()
        .map(|(s, ..)| s.try_clone().unwrap())
        .collect();
    let data = recv_all(&mut d, &ring, &socks);
    for (i, (_, _, bytes)) in servers.iter().enumerate() {
        assert!(data[i] == *bytes, "connection {i}: bytes lost or reordered");
    }
    let g = ring.growth();
    assert!(g.starved > 0, "the group never ran dry: nothing was tested");
    assert!(g.grows >= 1, "{g:?}");
    assert!(g.circulating > 4 && g.circulating <= 64, "{g:?}");
    assert_eq!(g.most, g.circulating);
    assert_eq!(ring.leased(), 0);
    assert_eq!(ring.users(), 0);
}

/// `n` connections whose peers have each sent 16 KiB and shut down their side: a burst.
fn burst(n: usize) -> Vec<TcpStream> {
    (0..n)
        .map(|_| {
            let (s, mut c) = tcp_pair(false);
            c.write_all(&pattern(16 * 1024)).unwrap();
            c.shutdown(std::net::Shutdown::Write).unwrap();
            s
        })
        .collect()
}

/// One small message at a time through one connection, `n` times.
fn ping(d: &mut Driver, ring: &Rc<BufRing>, n: usize) {
    let (s, mut c) = tcp_pair(false);
    let fd = s.as_raw_fd();
    d.push(Box::new(op::RecvMulti::new(fd, ring.clone())), 1)
        .unwrap();
    let deadline = Instant::now() + LIMIT;
    for k in 0..n {
        let msg = pattern(100 + k % 7);
        c.write_all(&msg).unwrap();
        let mut got = Vec::new();
        while got.len() < msg.len() {
            d.reap(boros::completions(|c| {
                if let Some(lease) = ring.lease(&c) {
                    got.extend_from_slice(&lease);
                }
                assert!(!c.is_final(), "the receive ended: {}", c.result);
            }))
            .unwrap();
            assert!(Instant::now() < deadline, "timed out");
            if got.len() < msg.len() {
                d.wait(1, Some(Duration::from_millis(20))).unwrap();
            }
        }
        assert_eq!(got, msg);
    }
    drop(c);
    let fin = until_finals(d, 1);
    assert_eq!(fin.last().unwrap().result, 0);
}

#[test]
fn light_use_keeps_the_shared_group_small() {
    let mut d = Driver::new().unwrap();
    let ring = d.shared_buf_ring(64, 16, 4, 4096).unwrap().unwrap();
    ping(&mut d, &ring, 300);
    let g = ring.growth();
    assert_eq!((g.circulating, g.most, g.grows, g.starved), (4, 4, 0, 0));
}

#[test]
fn the_shared_group_shrinks_back_when_demand_drops() {
    let mut d = Driver::new().unwrap();
    let ring = d.shared_buf_ring(64, 16, 4, 4096).unwrap().unwrap();
    recv_all(&mut d, &ring, &burst(32));
    let grown = ring.growth();
    assert!(grown.circulating > 16, "{grown:?}");
    // One buffer per pass from now on: after a few turns of the ring the group aims at its
    // initial size, and buffers past it are parked as they come back.
    ping(&mut d, &ring, 8 * grown.circulating as usize);
    let g = ring.growth();
    assert!(g.shrinks >= 1, "{g:?}");
    assert_eq!(g.target, 4, "{g:?}");
    assert!(g.circulating < grown.circulating, "{g:?}");
    assert_eq!(g.most, grown.most);
    // And it grows again when needed.
    recv_all(&mut d, &ring, &burst(32));
    assert!(ring.growth().grows > g.grows);
}

/// `n` connections whose peers have each sent `len` bytes and shut down their side.
fn burst_of(n: usize, len: usize) -> Vec<TcpStream> {
    (0..n)
        .map(|_| {
            let (s, mut c) = tcp_pair(false);
            c.write_all(&pattern(len)).unwrap();
            c.shutdown(std::net::Shutdown::Write).unwrap();
            s
        })
        .collect()
}

#[test]
fn a_touch_budget_bounds_the_group_by_the_bytes_its_buffers_hold() {
    let page: usize = 4096;
    let size = (4 * page) as u32;
    // Buffers of four pages, a budget of 32 pages: eight full buffers.
    let mut d = Driver::new().unwrap();
    let ring = d.shared_buf_ring(64, 16, 4, size).unwrap().unwrap();
    ring.set_touch_budget(32 * page);
    let socks = burst_of(32, 4 * page);
    let data = recv_all(&mut d, &ring, &socks);
    assert!(data.iter().all(|b| *b == pattern(4 * page)), "bytes lost");
    let g = ring.growth();
    assert!(g.starved > 0, "the group never ran dry: nothing was tested");
    assert_eq!(g.most, 8, "full buffers: the budget's eight at most, {g:?}");

    // The same burst without a budget grows past it (so the bound above is the budget's).
    let mut d2 = Driver::new().unwrap();
    let free = d2.shared_buf_ring(64, 16, 4, size).unwrap().unwrap();
    recv_all(&mut d2, &free, &burst_of(32, 4 * page));
    assert!(free.growth().most > 8, "{:?}", free.growth());

    // Receives of one page or less touch one page of each buffer: four times the buffers fit.
    let mut d3 = Driver::new().unwrap();
    let small = d3.shared_buf_ring(64, 16, 4, size).unwrap().unwrap();
    small.set_touch_budget(32 * page);
    for _ in 0..8 {
        let data = recv_all(&mut d3, &small, &burst_of(64, 100));
        assert!(data.iter().all(|b| *b == pattern(100)), "bytes lost");
    }
    let g = small.growth();
    assert_eq!(
        g.most, 32,
        "one page per buffer: the whole budget in buffers, {g:?}"
    );

    // Then the messages fill whole buffers: the group aims back at the budget's eight (the
    // buffers past them are parked as they come back, their pages given back).
    for _ in 0..8 {
        let data = recv_all(&mut d3, &small, &burst_of(32, 4 * page));
        assert!(data.iter().all(|b| *b == pattern(4 * page)), "bytes lost");
    }
    let g = small.growth();
    assert!(g.shrinks >= 1, "{g:?}");
    assert_eq!(g.target, 8, "{g:?}");
    assert!(g.circulating < 32, "{g:?}");
}
