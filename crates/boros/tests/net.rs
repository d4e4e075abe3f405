//! Socket ops against real loopback TCP (IPv4 and IPv6) and Unix stream sockets.

use boros::io_uring::squeue::Flags;
use boros::op::{self, OpCode};
use boros::{net, probe, BufRing, Completion, Config, Driver, KernelVersion, SockAddr};
use std::collections::HashSet;
use std::io::{Read as _, Write as _};
use std::net::{Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::rc::Rc;
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(20);

/// Waits for and returns the next batch of completions (at least one).
fn next_batch(d: &mut Driver, deadline: Instant) -> Vec<Completion> {
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
fn until_finals(d: &mut Driver, n: usize) -> Vec<Completion> {
    let deadline = Instant::now() + LIMIT;
    let mut all = Vec::new();
    while all.iter().filter(|c: &&Completion| c.is_final()).count() < n {
        all.extend(next_batch(d, deadline));
    }
    all
}

/// Pushes one op and returns its final completion (non-final ones are dropped).
fn run1(d: &mut Driver, op: Box<dyn OpCode>) -> Completion {
    let key = d.push(op, 0).unwrap();
    until_finals(d, 1)
        .into_iter()
        .find(|c| c.is_final() && c.key == key)
        .unwrap()
}

fn own(fd: u32) -> OwnedFd {
    // SAFETY: the descriptor came from a CQE just now; nothing else owns it.
    unsafe { OwnedFd::from_raw_fd(fd as RawFd) }
}

fn tcp_pair(v6: bool) -> (TcpStream, TcpStream) {
    let l = if v6 {
        TcpListener::bind((Ipv6Addr::LOCALHOST, 0)).unwrap()
    } else {
        TcpListener::bind("127.0.0.1:0").unwrap()
    };
    let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (s, _) = l.accept().unwrap();
    (s, c)
}

fn send_all(d: &mut Driver, fd: RawFd, data: &[u8]) {
    let mut off = 0;
    while off < data.len() {
        let c = run1(d, Box::new(op::Send::new(fd, data[off..].to_vec())));
        off += c.result().expect("send") as usize;
    }
}

fn recv_exact(d: &mut Driver, fd: RawFd, n: usize) -> Vec<u8> {
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

fn has_bind_listen(d: &Driver) -> bool {
    let s = &d.info().support;
    s.has(boros::io_uring::opcode::Bind::CODE) && s.has(boros::io_uring::opcode::Listen::CODE)
}

/// socket -> bind -> listen (ops where the kernel has them, system calls otherwise);
/// socket -> connect; accept; send and recv both ways; sendmsg; close: all on the ring.
fn round_trip(domain: i32, bind_to: SockAddr) {
    let mut d = Driver::new().unwrap();
    let c = run1(
        &mut d,
        Box::new(op::Socket::new(domain, libc::SOCK_STREAM, 0)),
    );
    let server = own(c.result().expect("socket op"));
    if has_bind_listen(&d) {
        let c = run1(
            &mut d,
            Box::new(op::Bind::new(server.as_raw_fd(), bind_to.clone())),
        );
        c.result().expect("bind op");
        let c = run1(&mut d, Box::new(op::Listen::new(server.as_raw_fd(), 16)));
        c.result().expect("listen op");
    } else {
        net::bind(server.as_raw_fd(), &bind_to).unwrap();
        net::listen(server.as_raw_fd(), 16).unwrap();
    }
    let local = net::local_addr(server.as_raw_fd()).unwrap();
    assert_eq!(local.family(), domain);
    let client = net::socket(domain, libc::SOCK_STREAM, 0).unwrap();

    let accept = d
        .push(Box::new(op::Accept::new(server.as_raw_fd())), 1)
        .unwrap();
    d.push(
        Box::new(op::Connect::new(client.as_raw_fd(), local.clone())),
        2,
    )
    .unwrap();
    let mut done = until_finals(&mut d, 2);
    let ac = done.iter_mut().find(|c| c.key == accept).unwrap();
    let conn = own(ac.result().expect("accept"));
    let peer = ac.take_op::<op::Accept>().unwrap().peer().clone();
    let cc = done.iter().find(|c| c.token == 2).unwrap();
    cc.result().expect("connect");
    assert_eq!(peer, net::local_addr(client.as_raw_fd()).unwrap());
    assert_eq!(net::peer_addr(client.as_raw_fd()).unwrap(), local);

    send_all(&mut d, client.as_raw_fd(), b"hello from the client");
    assert_eq!(
        recv_exact(&mut d, conn.as_raw_fd(), 21),
        b"hello from the client"
    );
    let c = run1(
        &mut d,
        Box::new(op::SendMsg::new(
            conn.as_raw_fd(),
            vec![b"gather ".to_vec(), b"write".to_vec()],
        )),
    );
    assert_eq!(c.result().unwrap(), 12);
    assert_eq!(recv_exact(&mut d, client.as_raw_fd(), 12), b"gather write");

    use std::os::fd::IntoRawFd;
    for fd in [
        client.into_raw_fd(),
        conn.into_raw_fd(),
        server.into_raw_fd(),
    ] {
        run1(&mut d, Box::new(op::Close::new(fd))).result().unwrap();
    }
}

#[test]
fn round_trip_tcp_v4() {
    round_trip(
        libc::AF_INET,
        "127.0.0.1:0".parse::<SocketAddr>().unwrap().into(),
    );
}

#[test]
fn round_trip_tcp_v6() {
    round_trip(
        libc::AF_INET6,
        "[::1]:0".parse::<SocketAddr>().unwrap().into(),
    );
}

#[test]
fn round_trip_unix_path() {
    let path = std::env::temp_dir().join(format!("boros-net-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    round_trip(libc::AF_UNIX, SockAddr::unix(&path).unwrap());
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn round_trip_unix_abstract() {
    let name = format!("boros-net-{}", std::process::id());
    round_trip(
        libc::AF_UNIX,
        SockAddr::unix_abstract(name.as_bytes()).unwrap(),
    );
}

#[test]
fn sockaddr_kinds() {
    let v4: SocketAddr = "10.1.2.3:8080".parse().unwrap();
    assert_eq!(SockAddr::from(v4).as_inet(), Some(v4));
    let v6: SocketAddr = "[fe80::1%3]:443".parse().unwrap();
    let a = SockAddr::from(v6);
    assert_eq!(a.as_inet(), Some(v6));
    assert_eq!(a.family(), libc::AF_INET6);
    let u = SockAddr::unix("/tmp/x.sock").unwrap();
    assert_eq!(u.as_unix_path().unwrap().to_str(), Some("/tmp/x.sock"));
    assert_eq!(format!("{u:?}"), "unix:/tmp/x.sock");
    let ab = SockAddr::unix_abstract(b"name").unwrap();
    assert_eq!(ab.as_abstract(), Some(&b"name"[..]));
    assert_eq!(ab.as_unix_path(), None);
    assert!(SockAddr::unix("").is_err());
    assert!(SockAddr::unix("x".repeat(108)).is_err());
    assert!(SockAddr::unix_abstract(&[b'a'; 108]).is_err());
}

#[test]
fn socket_op_kernels_are_named() {
    use boros::io_uring::opcode;
    let since = |code| probe::info(code).unwrap().since;
    assert_eq!(since(opcode::Bind::CODE), KernelVersion::new(6, 11, 0));
    assert_eq!(since(opcode::Listen::CODE), KernelVersion::new(6, 11, 0));
    assert_eq!(since(opcode::Socket::CODE), KernelVersion::new(5, 19, 0));
    assert_eq!(since(opcode::SendZc::CODE), KernelVersion::new(6, 0, 0));
    assert_eq!(probe::info(opcode::Bind::CODE).unwrap().name, "bind");
    let d = Driver::new().unwrap();
    let names = d.info().support.names();
    for n in [
        "socket", "accept", "connect", "send", "recv", "send_zc", "shutdown",
    ] {
        assert!(names.contains(&n), "{n} missing from {names:?}");
    }
}

#[test]
fn connect_refused() {
    let mut d = Driver::new().unwrap();
    // A bound socket that does not listen: connecting to its port is refused.
    let holder = net::socket(libc::AF_INET, libc::SOCK_STREAM, 0).unwrap();
    net::bind(
        holder.as_raw_fd(),
        &"127.0.0.1:0".parse::<SocketAddr>().unwrap().into(),
    )
    .unwrap();
    let addr = net::local_addr(holder.as_raw_fd()).unwrap();
    let s = net::socket(libc::AF_INET, libc::SOCK_STREAM, 0).unwrap();
    let c = run1(&mut d, Box::new(op::Connect::new(s.as_raw_fd(), addr)));
    assert_eq!(c.result, -libc::ECONNREFUSED);
}

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

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 % 251) as u8).collect()
}

fn big_send_through_tiny_ring(bundle: bool) {
    let mut d = Driver::new().unwrap();
    if bundle && !net::recv_bundles(d.info()) {
        eprintln!("skipped: no recv bundles (Linux 6.10+)");
        return;
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
    // group has buffers for (later re-arms race with the writer).
    std::thread::sleep(Duration::from_millis(50));
    let (data, enobufs) = recv_stream(&mut d, s.as_raw_fd(), &ring, bundle);
    writer.join().unwrap();
    assert_eq!(data.len(), expect.len());
    assert!(data == expect, "bytes lost or reordered");
    assert!(
        enobufs > 0,
        "the group never ran dry: the test did not test re-arming"
    );
    assert_eq!(ring.leased(), 0);
    assert_eq!(ring.users(), 0);
    eprintln!("4 MiB through 4 x 1 KiB buffers (bundle {bundle}): {enobufs} re-arms after ENOBUFS");
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

fn run_finals_only(d: &mut Driver) -> Completion {
    until_finals(d, 1)
        .into_iter()
        .find(|c| c.is_final())
        .unwrap()
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

#[test]
fn peer_reset_gives_econnreset_and_send_does_not_raise_sigpipe() {
    let mut d = Driver::new().unwrap();
    let (s, c) = tcp_pair(false);
    // SO_LINGER {on, 0}: close sends RST instead of FIN.
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: linger is plain old data; we view its bytes for the call.
    let bytes = unsafe {
        std::slice::from_raw_parts(
            (&linger as *const libc::linger).cast::<u8>(),
            std::mem::size_of::<libc::linger>(),
        )
    };
    net::setsockopt(c.as_raw_fd(), libc::SOL_SOCKET, libc::SO_LINGER, bytes).unwrap();
    drop(c);
    let r = run1(
        &mut d,
        Box::new(op::Recv::new(s.as_raw_fd(), vec![0u8; 64])),
    );
    assert_eq!(r.result, -libc::ECONNRESET);
    // Sending to the reset connection fails with EPIPE; MSG_NOSIGNAL keeps us alive.
    let w = run1(
        &mut d,
        Box::new(op::Send::new(s.as_raw_fd(), b"x".to_vec())),
    );
    assert!(
        w.result == -libc::EPIPE || w.result == -libc::ECONNRESET,
        "send: {}",
        w.result
    );
}

#[test]
fn shutdown_gives_the_peer_end_of_stream() {
    let mut d = Driver::new().unwrap();
    let (s, c) = tcp_pair(true);
    send_all(&mut d, c.as_raw_fd(), b"last words");
    let r = run1(
        &mut d,
        Box::new(op::Shutdown::new(c.as_raw_fd(), libc::SHUT_WR)),
    );
    r.result().unwrap();
    assert_eq!(recv_exact(&mut d, s.as_raw_fd(), 10), b"last words");
    let eof = run1(
        &mut d,
        Box::new(op::Recv::new(s.as_raw_fd(), vec![0u8; 64])),
    );
    assert_eq!(eof.result, 0, "end of stream");
    // Half-closed: the other direction still works.
    send_all(&mut d, s.as_raw_fd(), b"reply");
    assert_eq!(recv_exact(&mut d, c.as_raw_fd(), 5), b"reply");
}

#[test]
fn poll_add_one_shot_and_multishot() {
    let mut d = Driver::new().unwrap();
    let (s, mut c) = tcp_pair(false);
    let k = d
        .push(
            Box::new(op::PollAdd::new(s.as_raw_fd(), libc::POLLIN as u32)),
            1,
        )
        .unwrap();
    d.submit().unwrap();
    c.write_all(b"a").unwrap();
    let all = until_finals(&mut d, 1);
    assert_eq!(all[0].key, k);
    assert!(all[0].result().unwrap() & libc::POLLIN as u32 != 0);
    let mut drain = [0u8; 16];
    let mut s2 = &s;
    assert_eq!(s2.read(&mut drain).unwrap(), 1);

    let k = d
        .push(
            Box::new(op::PollAdd::new(s.as_raw_fd(), libc::POLLIN as u32).multi()),
            2,
        )
        .unwrap();
    d.submit().unwrap();
    let deadline = Instant::now() + LIMIT;
    for round in 0..3 {
        c.write_all(b"b").unwrap();
        let batch = next_batch(&mut d, deadline);
        assert!(
            batch.iter().all(|c| !c.is_final() && c.has_more()),
            "round {round}"
        );
        assert!(batch[0].result().unwrap() & libc::POLLIN as u32 != 0);
        assert_eq!(s2.read(&mut drain).unwrap(), 1);
    }
    d.cancel(k).unwrap();
    let fin = until_finals(&mut d, 1);
    assert_eq!(fin.last().unwrap().result, -libc::ECANCELED);
}

#[test]
fn socket_options_on_the_ring_or_by_system_call() {
    let mut d = Driver::new().unwrap();
    let (s, _c) = tcp_pair(false);
    let fd = s.as_raw_fd();
    if !net::sockopt_cmds(d.info()) {
        eprintln!("no socket option commands (6.7+): system calls only");
        net::setsockopt_int(fd, libc::IPPROTO_TCP, libc::TCP_NODELAY, 1).unwrap();
        assert_eq!(
            net::getsockopt_int(fd, libc::IPPROTO_TCP, libc::TCP_NODELAY).unwrap(),
            1
        );
        return;
    }
    let c = run1(
        &mut d,
        Box::new(op::SetSockOpt::int(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_NODELAY,
            1,
        )),
    );
    c.result().expect("setsockopt TCP_NODELAY");
    assert_eq!(
        net::getsockopt_int(fd, libc::IPPROTO_TCP, libc::TCP_NODELAY).unwrap(),
        1
    );
    let c = run1(
        &mut d,
        Box::new(op::SetSockOpt::int(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            65536,
        )),
    );
    c.result().expect("setsockopt SO_RCVBUF");
    let mut g = run1(
        &mut d,
        Box::new(op::GetSockOpt::new(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            4,
        )),
    );
    assert_eq!(g.result().unwrap(), 4);
    let got = g.take_op::<op::GetSockOpt>().unwrap().int().unwrap();
    assert_eq!(
        got,
        net::getsockopt_int(fd, libc::SOL_SOCKET, libc::SO_RCVBUF).unwrap()
    );
    assert_eq!(got, 2 * 65536, "the kernel doubles SO_RCVBUF");
    // The kernel's getsockopt command takes SOL_SOCKET only.
    let g = run1(
        &mut d,
        Box::new(op::GetSockOpt::new(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_NODELAY,
            4,
        )),
    );
    assert_eq!(g.result, -libc::EOPNOTSUPP);
}

#[test]
fn sendmsg_to_an_address_over_udp() {
    let mut d = Driver::new().unwrap();
    let rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let tx = net::socket(libc::AF_INET, libc::SOCK_DGRAM, 0).unwrap();
    let to = SockAddr::from(rx.local_addr().unwrap());
    let c = run1(
        &mut d,
        Box::new(op::SendMsg::new(tx.as_raw_fd(), vec![&b"data"[..], &b"gram"[..]]).to(to)),
    );
    assert_eq!(c.result().unwrap(), 8);
    let mut buf = [0u8; 16];
    let (n, _) = rx.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"datagram");
}

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

/// A socket made straight into a registered-file slot, connected, written and shut down
/// through that slot; the accepted side is a direct descriptor too.
#[test]
fn direct_socket_and_accept_in_file_slots() {
    use boros::io_uring::types::DestinationSlot;
    use op::Target;
    let mut d = Driver::new().unwrap();
    let Some(cslot) = d.alloc_file_slot() else {
        eprintln!("skipped: no registered file table");
        return;
    };
    let aslot = d.alloc_file_slot().unwrap();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let slot = |s| DestinationSlot::try_from_slot_target(s).unwrap();
    let c = run1(
        &mut d,
        Box::new(op::Socket::new(libc::AF_INET, libc::SOCK_STREAM, 0).direct(slot(cslot))),
    );
    assert_eq!(c.result().unwrap(), 0);
    d.push(
        Box::new(op::Accept::new(l.as_raw_fd()).direct(slot(aslot))),
        1,
    )
    .unwrap();
    d.push(
        Box::new(op::Connect::new(
            Target::Fixed(cslot),
            l.local_addr().unwrap().into(),
        )),
        2,
    )
    .unwrap();
    for c in until_finals(&mut d, 2) {
        assert_eq!(c.result().unwrap(), 0, "token {}", c.token);
    }
    let c = run1(
        &mut d,
        Box::new(op::Send::new(Target::Fixed(cslot), b"slot".to_vec())),
    );
    assert_eq!(c.result().unwrap(), 4);
    let mut r = run1(
        &mut d,
        Box::new(op::Recv::new(Target::Fixed(aslot), Vec::with_capacity(8))),
    );
    let n = r.result().unwrap();
    assert_eq!(
        r.take_op::<op::Recv<Vec<u8>>>().unwrap().into_buf(n),
        b"slot"
    );
    for s in [cslot, aslot] {
        run1(&mut d, Box::new(op::Close::new(Target::Fixed(s))))
            .result()
            .unwrap();
    }
    // Each close freed its slot.
    let (size, free) = d.file_table().unwrap();
    assert_eq!(free, size);
}
