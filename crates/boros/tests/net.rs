//! Socket ops against real loopback TCP (IPv4 and IPv6) and Unix stream sockets.
//! The basic ops: round trips, addresses, errors, shutdown, poll, socket options, UDP, direct sockets.
//! Multishot and cancellation: net_multishot.rs; load: net_load.rs.

mod common;

use boros::op::{self};
use boros::{net, probe, Driver, KernelVersion, SockAddr};
use common::*;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener};
use std::os::fd::AsRawFd;
use std::time::Instant;

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
    // A path that fills sun_path (no room for a NUL) is a path, as libuv binds it.
    let full = format!("/{}", "x".repeat(107));
    let u = SockAddr::unix(&full).unwrap();
    assert_eq!(u.as_unix_path().unwrap().to_str(), Some(full.as_str()));
    assert!(SockAddr::unix("x".repeat(109)).is_err());
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

#[test]
fn cancel_fd_ends_a_send_its_peer_never_reads() {
    // Once the socket buffers are full (a first send takes what fits and ends short), a send to
    // a peer that never reads waits for room for good, and closing the descriptor does not end
    // it (the op holds the file): `cancel_fd` does, with -ECANCELED, and the kernel is done with
    // the buffer at that CQE.
    let mut d = Driver::new().unwrap();
    let (s, _peer) = tcp_pair(false);
    let first = run1(
        &mut d,
        Box::new(op::Send::new(s.as_raw_fd(), vec![7u8; 64 << 20])),
    );
    assert!(
        first.result > 0 && first.result < 64 << 20,
        "first send: {}",
        first.result
    );
    let k = d
        .push(
            Box::new(op::Send::new(s.as_raw_fd(), vec![8u8; 1 << 20])),
            1,
        )
        .unwrap();
    d.wait(1, Some(std::time::Duration::from_millis(200)))
        .unwrap();
    let mut early = Vec::new();
    d.reap(boros::completions(|c| early.push(c))).unwrap();
    assert!(early.is_empty(), "the second send should wait for room");
    d.cancel_fd(s.as_raw_fd()).unwrap();
    let fin = until_finals(&mut d, 1);
    assert_eq!(fin[0].key, k);
    assert_eq!(fin[0].result, -libc::ECANCELED);
}
