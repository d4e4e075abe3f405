//! Multishot socket ops (accept, recv into provided buffers, bundles), zero-copy sends,
//! timeouts and cancellation, against real loopback sockets.

mod common;

use boros::io_uring::squeue::Flags;
use boros::op::{self, OpCode};
use boros::{net, BufRing, Completion, Config, Driver};
use common::*;
use std::collections::HashSet;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::rc::Rc;
use std::time::{Duration, Instant};

#[test]
fn multishot_accept_of_100_connections() {
    let mut d = Driver::new().unwrap();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let mut live = d
        .push(Box::new(op::AcceptMulti::new(l.as_raw_fd())), 1)
        .unwrap();
    d.submit().unwrap();
    let clients = std::thread::spawn(move || {
        (0..100)
            .map(|_| TcpStream::connect(addr).unwrap())
            .collect::<Vec<_>>()
    });
    let deadline = Instant::now() + LIMIT;
    let mut accepted = Vec::new();
    while accepted.len() < 100 {
        for c in next_batch(&mut d, deadline) {
            if c.result >= 0 {
                accepted.push(own(c.result as u32));
            }
            if c.is_final() {
                assert!(c.result >= 0, "accept failed: {}", c.result);
                live = d
                    .push(Box::new(op::AcceptMulti::new(l.as_raw_fd())), 1)
                    .unwrap();
            }
        }
    }
    let clients = clients.join().unwrap();
    let peers: HashSet<SocketAddr> = accepted
        .iter()
        .map(|fd| net::peer_addr(fd.as_raw_fd()).unwrap().as_inet().unwrap())
        .collect();
    let locals: HashSet<SocketAddr> = clients.iter().map(|c| c.local_addr().unwrap()).collect();
    assert_eq!(peers.len(), 100);
    assert_eq!(peers, locals);
    // Still armed (or re-armed): cancel it, and it ends with ECANCELED.
    assert!(d.cancel(live).unwrap());
    let fin = until_finals(&mut d, 1);
    let fin = fin.last().unwrap();
    assert!(fin.cancelled);
    assert_eq!(fin.result, -libc::ECANCELED);
    assert_eq!(d.in_flight(), 0);
}

/// Receives a stream with a multishot recv on a tiny buffer group, re-arming after every
/// ENOBUFS; returns the data in arrival order and how many times the op ran dry.
fn recv_stream(d: &mut Driver, fd: RawFd, ring: &Rc<BufRing>, bundle: bool) -> (Vec<u8>, usize) {
    let deadline = Instant::now() + LIMIT;
    let mut data = Vec::new();
    let mut enobufs = 0;
    d.push(
        Box::new(op::RecvMulti::new(fd, ring.clone()).bundle(bundle)),
        1,
    )
    .unwrap();
    loop {
        // Hold every lease of a batch until the whole batch is read: the group runs dry.
        let batch = next_batch(d, deadline);
        let mut leases = Vec::new();
        let mut end = None;
        for c in &batch {
            if bundle {
                let got = ring.lease_bundle(c);
                assert_eq!(
                    got.iter().map(|l| l.len()).sum::<usize>(),
                    c.result.max(0) as usize
                );
                leases.extend(got);
            } else if let Some(l) = ring.lease(c) {
                leases.push(l);
            }
            if c.is_final() {
                end = Some(c.result);
            }
        }
        for l in &leases {
            data.extend_from_slice(l);
        }
        drop(leases);
        match end {
            None => {}
            Some(0) => return (data, enobufs),
            Some(r) if r == -libc::ENOBUFS => {
                enobufs += 1;
                d.push(
                    Box::new(op::RecvMulti::new(fd, ring.clone()).bundle(bundle)),
                    1,
                )
                .unwrap();
            }
            // A final CQE carrying data (the kernel ended the op): re-arm as well.
            Some(r) if r > 0 => {
                d.push(
                    Box::new(op::RecvMulti::new(fd, ring.clone()).bundle(bundle)),
                    1,
                )
                .unwrap();
            }
            Some(r) => panic!("multishot recv failed: {r}"),
        }
    }
}

fn big_send_through_tiny_ring(bundle: bool) {
    // Every attempt checks the bytes; the group running dry (what the test is about) depends on
    // how the writer and the kernel interleave, which a loaded machine can change: up to three
    // fresh attempts, and the test fails if none of them ran dry.
    for attempt in 1..=3 {
        match tiny_ring_attempt(bundle) {
            None => return,
            Some(enobufs) if enobufs > 0 => return,
            Some(_) => {}
        }
        eprintln!("attempt {attempt}: the group never ran dry; again");
    }
    panic!("the group never ran dry in 3 attempts: the test did not test re-arming");
}

/// One 4 MiB send through a 4 x 1 KiB group: the bytes checked, the `-ENOBUFS` re-arms counted
/// (`None`: skipped on this kernel).
fn tiny_ring_attempt(bundle: bool) -> Option<usize> {
    let mut d = Driver::new().unwrap();
    if bundle && !net::recv_bundles(d.info()) {
        eprintln!("skipped: no recv bundles (Linux 6.10+)");
        return None;
    }
    let ring = d.register_buf_ring(4, 1024).unwrap();
    let (s, mut c) = tcp_pair(false);
    let payload = pattern(4 << 20);
    let expect = payload.clone();
    let writer = std::thread::spawn(move || {
        c.write_all(&payload).unwrap();
        c.shutdown(std::net::Shutdown::Write).unwrap();
        c
    });
    // Let the receive queue fill first, so the first recv finds far more data than the
    // group's 4 KiB of buffers (later re-arms race with the writer). Waited for by its size,
    // not a sleep: on a loaded machine the writer may not have run at all after 50 ms.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let mut queued: libc::c_int = 0;
        // SAFETY: FIONREAD writes one c_int through the pointer, which points to `queued`.
        let r = unsafe { libc::ioctl(s.as_raw_fd(), libc::FIONREAD, &mut queued) };
        assert_eq!(r, 0, "FIONREAD: {}", std::io::Error::last_os_error());
        if queued >= 64 << 10 || writer.is_finished() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the writer sent nothing in 10 s"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let (data, enobufs) = recv_stream(&mut d, s.as_raw_fd(), &ring, bundle);
    writer.join().unwrap();
    assert_eq!(data.len(), expect.len());
    assert!(data == expect, "bytes lost or reordered");
    assert_eq!(ring.leased(), 0);
    assert_eq!(ring.users(), 0);
    eprintln!("4 MiB through 4 x 1 KiB buffers (bundle {bundle}): {enobufs} re-arms after ENOBUFS");
    Some(enobufs)
}

#[test]
fn multishot_recv_across_enobufs_loses_nothing() {
    big_send_through_tiny_ring(false);
}

#[test]
fn multishot_recv_bundles_across_enobufs_lose_nothing() {
    big_send_through_tiny_ring(true);
}

#[test]
fn send_zc_keeps_buffer_until_notification() {
    let mut d = Driver::new().unwrap();
    let (s, mut c) = tcp_pair(false);
    let buf = pattern(256 << 10);
    let ptr = buf.as_ptr();
    let len = buf.len();
    let reader = std::thread::spawn(move || {
        let mut got = vec![0u8; len];
        c.read_exact(&mut got).unwrap();
        got
    });
    let key = d
        .push(
            Box::new(op::SendZc::new(s.as_raw_fd(), buf).report_usage()),
            9,
        )
        .unwrap();
    let all = until_finals(&mut d, 1);
    assert_eq!(all.len(), 2, "a result CQE and a notification");
    let (first, mut notif) = {
        let mut it = all.into_iter();
        (it.next().unwrap(), it.next().unwrap())
    };
    assert_eq!(first.key, key);
    assert!(
        first.has_more(),
        "the result CQE announces the notification"
    );
    assert!(
        !first.is_final(),
        "the op must stay in flight until the notification"
    );
    assert!(!op::SendZc::<Vec<u8>>::is_notification(first.flags));
    assert_eq!(first.result().unwrap() as usize, len);
    assert!(op::SendZc::<Vec<u8>>::is_notification(notif.flags));
    assert!(notif.is_final());
    assert_eq!(notif.key, key);
    let back = notif.take_op::<op::SendZc<Vec<u8>>>().unwrap().into_buf();
    assert_eq!(back.as_ptr(), ptr, "the same buffer comes back");
    assert_eq!(reader.join().unwrap(), back);
    eprintln!(
        "send_zc notification: copied={} (loopback copies)",
        op::SendZc::<Vec<u8>>::copied(notif.result, notif.flags)
    );
    assert_eq!(d.stats().ops_completed, 1);
}

/// The same, through `reap_ops` on a driver typed for the op: the result CQE comes with the
/// op live (still the driver's), the notification with the op by value.
#[test]
fn send_zc_through_reap_ops() {
    use boros::OpRef;
    let mut d = Driver::<op::SendZc<Vec<u8>>>::build(&Config::default()).unwrap();
    let (s, mut c) = tcp_pair(true);
    let len = 128 << 10;
    let reader = std::thread::spawn(move || {
        let mut got = vec![0u8; len];
        c.read_exact(&mut got).unwrap();
        got
    });
    d.push(Box::new(op::SendZc::new(s.as_raw_fd(), pattern(len))), 1)
        .unwrap();
    let deadline = Instant::now() + LIMIT;
    let mut seen = Vec::new();
    let mut back = None;
    while back.is_none() {
        d.wait(1, Some(Duration::from_millis(20))).unwrap();
        d.reap(|cqe, op| match op {
            OpRef::Live(_) => seen.push(("live", cqe.result, cqe.flags)),
            OpRef::Done(op) => {
                seen.push(("done", cqe.result, cqe.flags));
                back = Some(op.into_buf());
            }
        })
        .unwrap();
        assert!(Instant::now() < deadline);
    }
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0].0, "live");
    assert_eq!(seen[0].1 as usize, len);
    assert!(!op::SendZc::<Vec<u8>>::is_notification(seen[0].2));
    assert_eq!(seen[1].0, "done");
    assert!(op::SendZc::<Vec<u8>>::is_notification(seen[1].2));
    assert_eq!(reader.join().unwrap(), back.unwrap());
}

#[test]
fn timeout_fires_with_etime() {
    let mut d = Driver::new().unwrap();
    let t0 = Instant::now();
    let c = run1(
        &mut d,
        Box::new(op::Timeout::new(Duration::from_millis(40))),
    );
    assert_eq!(c.result, -libc::ETIME);
    assert!(t0.elapsed() >= Duration::from_millis(40));
}

#[test]
fn recv_with_link_timeout() {
    let mut d = Driver::new().unwrap();
    let (s, mut c) = tcp_pair(false);
    // Nothing arrives: the deadline cancels the recv.
    let t0 = Instant::now();
    d.push_linked(vec![
        (
            Box::new(op::Recv::new(s.as_raw_fd(), vec![0u8; 64])) as Box<dyn OpCode>,
            1,
            Flags::IO_LINK,
        ),
        (
            Box::new(op::LinkTimeout::new(Duration::from_millis(50))),
            2,
            Flags::empty(),
        ),
    ])
    .unwrap();
    let all = until_finals(&mut d, 2);
    let recv = all.iter().find(|c| c.token == 1).unwrap();
    let tmo = all.iter().find(|c| c.token == 2).unwrap();
    assert!(
        recv.result == -libc::ECANCELED || recv.result == -libc::EINTR,
        "recv: {}",
        recv.result
    );
    assert_eq!(tmo.result, -libc::ETIME);
    assert!(t0.elapsed() >= Duration::from_millis(50));
    // Data in time: the recv completes and the deadline is cancelled.
    c.write_all(b"in time").unwrap();
    d.push_linked(vec![
        (
            Box::new(op::Recv::new(s.as_raw_fd(), Vec::with_capacity(64))) as Box<dyn OpCode>,
            1,
            Flags::IO_LINK,
        ),
        (
            Box::new(op::LinkTimeout::new(Duration::from_secs(10))),
            2,
            Flags::empty(),
        ),
    ])
    .unwrap();
    let mut all = until_finals(&mut d, 2);
    let tmo = all.iter().find(|c| c.token == 2).unwrap();
    assert_eq!(tmo.result, -libc::ECANCELED);
    let recv = all.iter_mut().find(|c| c.token == 1).unwrap();
    let n = recv.result().unwrap();
    assert_eq!(
        recv.take_op::<op::Recv<Vec<u8>>>().unwrap().into_buf(n),
        b"in time"
    );
}

#[test]
fn cancel_armed_accept_and_recv() {
    let mut d = Driver::new().unwrap();
    let ring = d.register_buf_ring(4, 256).unwrap();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let (s, _c) = tcp_pair(true);
    let a = d
        .push(Box::new(op::AcceptMulti::new(l.as_raw_fd())), 1)
        .unwrap();
    let one = d.push(Box::new(op::Accept::new(l.as_raw_fd())), 2).unwrap();
    let r = d
        .push(Box::new(op::RecvMulti::new(s.as_raw_fd(), ring.clone())), 3)
        .unwrap();
    d.submit().unwrap();
    d.wait(0, Some(Duration::from_millis(20))).unwrap();
    assert_eq!(
        d.reap(boros::completions(|_| {})).unwrap(),
        0,
        "nothing completes before the cancel"
    );
    for k in [a, one, r] {
        assert!(d.cancel(k).unwrap());
    }
    let all = until_finals(&mut d, 3);
    assert_eq!(all.len(), 3);
    for c in &all {
        assert!(c.cancelled);
        assert_eq!(c.result, -libc::ECANCELED);
    }
    assert_eq!(ring.users(), 0);
    assert_eq!(d.in_flight(), 0);
}

#[test]
fn cancelled_accept_may_still_deliver_a_descriptor() {
    let mut d = Driver::new().unwrap();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    // The connection waits in the backlog: the accept completes as it is submitted, before
    // the cancel queued right behind it can reach it.
    let k = d.push(Box::new(op::Accept::new(l.as_raw_fd())), 1).unwrap();
    assert!(d.cancel(k).unwrap());
    let c = run_finals_only(&mut d);
    assert!(c.cancelled);
    assert!(
        c.result >= 0,
        "a late cancel leaves the accept's result: {}",
        c.result
    );
    // The caller owns it and must close it; it is the client's peer.
    let fd = own(c.result as u32);
    assert_eq!(
        net::peer_addr(fd.as_raw_fd()).unwrap().as_inet(),
        Some(client.local_addr().unwrap())
    );
}

#[test]
fn cancelled_recv_may_still_consume_a_buffer() {
    let mut d = Driver::new().unwrap();
    let ring = d.register_buf_ring(4, 256).unwrap();
    let (s, mut c) = tcp_pair(false);
    c.write_all(b"already here").unwrap();
    std::thread::sleep(Duration::from_millis(20));
    let k = d
        .push(Box::new(op::RecvMulti::new(s.as_raw_fd(), ring.clone())), 1)
        .unwrap();
    assert!(d.cancel(k).unwrap());
    let all = until_finals(&mut d, 1);
    let with_buf: Vec<&Completion> = all.iter().filter(|c| c.buffer_id().is_some()).collect();
    assert_eq!(
        with_buf.len(),
        1,
        "the recv took a buffer before the cancel"
    );
    assert!(with_buf[0].cancelled);
    {
        // What the caller must do: lease it (and drop the lease) to give it back.
        let l = ring.lease(with_buf[0]).unwrap();
        assert_eq!(&l[..], b"already here");
    }
    let fin = all.last().unwrap();
    assert!(fin.is_final() && fin.cancelled);
    assert_eq!(fin.result, -libc::ECANCELED);
    assert_eq!(ring.leased(), 0);
    // All four buffers are with the kernel again: a new recv fills four distinct ones, and
    // the byte after them finds the group dry.
    c.write_all(&[7u8; 4 * 256 + 1]).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    d.push(Box::new(op::RecvMulti::new(s.as_raw_fd(), ring.clone())), 2)
        .unwrap();
    let all = until_finals(&mut d, 1);
    let bids: HashSet<u16> = all.iter().filter_map(|c| c.buffer_id()).collect();
    assert_eq!(bids.len(), 4);
    for c in &all {
        drop(ring.lease(c));
    }
    assert_eq!(all.last().unwrap().result, -libc::ENOBUFS);
}

/// An abstract Unix name is freed only when its socket is released, and an armed accept holds
/// the socket: `run_kernel_work` after the cancel lets the kernel finish it now, so a close
/// then frees the name at once (boros-node's `close_listener_now`, Server#close()).
#[test]
fn cancelled_accept_lets_go_of_an_abstract_name_after_run_kernel_work() {
    use std::os::fd::IntoRawFd;
    let name = format!("boros-run-kernel-work-{}", std::process::id());
    let addr = net::SockAddr::unix_abstract(name.as_bytes()).unwrap();
    let listen = || {
        let ty = libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
        let s = net::socket(libc::AF_UNIX, ty, 0).unwrap();
        net::bind(s.as_raw_fd(), &addr).map(|_| {
            net::listen(s.as_raw_fd(), 16).unwrap();
            s
        })
    };
    let mut d = Driver::new().unwrap();
    for run in [false, true] {
        let fd = listen().unwrap().into_raw_fd();
        let key = d.push(Box::new(op::AcceptMulti::new(fd)), 1).unwrap();
        d.submit().unwrap();
        assert!(d.cancel(key).unwrap());
        if run {
            d.run_kernel_work(4).unwrap();
        }
        // SAFETY: `fd` is this test's listener, closed once; its accept has been submitted.
        unsafe { libc::close(fd) };
        let again = listen();
        // Without the run the cancel is not even submitted: the accept holds the name.
        assert_eq!(
            again.is_ok(),
            run,
            "listen again after run_kernel_work: {run}"
        );
        let fin = until_finals(&mut d, 1);
        assert_eq!(fin.last().unwrap().result, -libc::ECANCELED);
    }
}
