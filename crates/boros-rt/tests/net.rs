//! Sockets: TCP and Unix echo through the runtime, many connections at once.

use boros_rt::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use boros_rt::{spawn, JoinSet};
use std::net::Shutdown;
use std::rc::Rc;

async fn echo(stream: TcpStream) -> usize {
    let mut total = 0;
    let mut buf = Vec::with_capacity(4096);
    loop {
        buf.clear();
        let (n, b) = stream.read(buf).await;
        let n = n.unwrap();
        if n == 0 {
            return total;
        }
        total += n;
        let (r, b) = stream.write_all(b).await;
        r.unwrap();
        buf = b;
    }
}

#[test]
fn tcp_echo_with_64_connections() {
    boros_rt::block_on(async {
        let listener = Rc::new(TcpListener::bind("127.0.0.1:0").unwrap());
        let addr = listener.local_addr().unwrap();
        let l = listener.clone();
        let server = spawn(async move {
            let mut conns = JoinSet::new();
            for _ in 0..64 {
                let (s, peer) = l.accept().await.unwrap();
                assert!(peer.ip().is_loopback());
                conns.spawn(echo(s));
            }
            conns
                .join_all()
                .await
                .into_iter()
                .map(|r| r.unwrap())
                .sum::<usize>()
        });
        let mut clients = JoinSet::new();
        for c in 0..64u8 {
            clients.spawn(async move {
                let s = TcpStream::connect(addr).await.unwrap();
                s.set_nodelay(true).unwrap();
                assert_eq!(s.peer_addr().unwrap(), addr);
                for round in 0..50u8 {
                    let msg = vec![c ^ round; 1000];
                    let (r, _) = s.write_all(msg).await;
                    r.unwrap();
                    let mut got = Vec::with_capacity(1000);
                    while got.len() < 1000 {
                        let (n, b) = s.read(boros_rt::buf::Slice::new(got, 0, 1000)).await;
                        let b = b.into_inner();
                        assert!(n.unwrap() > 0, "server closed early");
                        got = b;
                    }
                    assert!(got.iter().all(|&x| x == c ^ round));
                }
                s.shutdown(Shutdown::Write).unwrap();
                let (n, _) = s.read(Vec::with_capacity(16)).await;
                assert_eq!(n.unwrap(), 0);
            });
        }
        for r in clients.join_all().await {
            r.unwrap();
        }
        assert_eq!(server.await.unwrap(), 64 * 50 * 1000);
    });
}

#[test]
fn unix_listener_and_pair() {
    let path = std::env::temp_dir().join(format!("boros-rt-unix-{}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let p = path.clone();
    boros_rt::block_on(async move {
        let listener = UnixListener::bind(&p).unwrap();
        let server = spawn(async move {
            let s = listener.accept().await.unwrap();
            let (n, buf) = s.read(Vec::with_capacity(64)).await;
            assert_eq!(n.unwrap(), 5);
            let (r, _) = s.write_all(buf).await;
            r.unwrap();
        });
        let c = UnixStream::connect(&p).await.unwrap();
        let (r, _) = c.write_all(&b"hello"[..]).await;
        r.unwrap();
        let (n, buf) = c.read(Vec::with_capacity(64)).await;
        assert_eq!((n.unwrap(), &buf[..]), (5, &b"hello"[..]));
        server.await.unwrap();

        let (a, b) = UnixStream::pair().unwrap();
        let (n, _) = a.write(&b"xy"[..]).await;
        assert_eq!(n.unwrap(), 2);
        drop(a);
        let (n, buf) = b.read(Vec::with_capacity(8)).await;
        assert_eq!((n.unwrap(), &buf[..]), (2, &b"xy"[..]));
        let (n, _) = b.read(Vec::with_capacity(8)).await;
        assert_eq!(n.unwrap(), 0);
    });
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn connect_to_a_closed_port_fails() {
    boros_rt::block_on(async {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        drop(l);
        let e = TcpStream::connect(addr).await.unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused);
    });
}

#[test]
fn multishot_accept_takes_200_connections_with_one_sqe() {
    boros_rt::block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let clients = std::thread::spawn(move || {
            (0..200)
                .map(|_| std::net::TcpStream::connect(addr).unwrap())
                .collect::<Vec<_>>()
        });
        // Let the loop go idle once, so its own wake-up read is already submitted.
        boros_rt::time::sleep(std::time::Duration::from_millis(1)).await;
        let before = boros_rt::stats().driver.ops_submitted;
        let mut incoming = listener.incoming();
        let mut streams = Vec::new();
        for _ in 0..200 {
            let s = incoming.next().await.unwrap();
            assert!(s.peer_addr().unwrap().ip().is_loopback());
            streams.push(s);
        }
        let submitted = boros_rt::stats().driver.ops_submitted - before;
        assert_eq!(submitted, 1, "one multishot accept SQE for 200 connections");
        let clients = clients.join().unwrap();
        // The streams work: echo one byte back on each.
        for (i, s) in streams.iter().enumerate() {
            let (r, _) = s.write_all(vec![i as u8]).await;
            r.unwrap();
        }
        for (i, mut c) in clients.into_iter().enumerate() {
            let mut b = [0u8; 1];
            std::io::Read::read_exact(&mut c, &mut b).unwrap();
            assert_eq!(b[0], i as u8);
        }
        drop(incoming);
    });
}

/// `TcpStream::read` runs on one multishot recv per connection: many reads, a few SQEs. A
/// connection whose ring fills (nobody reading) stops receiving and resumes: 4 MiB sent
/// before the first read all arrives, in order, through a 16 x 1 KiB ring (4 KiB without
/// bundles); where the kernel takes recv bundles, reads of more than one ring buffer come
/// from one CQE (the bytes that do not fit a read's buffer wait for the next one).
#[test]
fn stream_reads_share_one_multishot_recv_and_survive_a_full_ring() {
    boros_rt::block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let client = boros_rt::spawn(async move {
            let s = TcpStream::connect(addr).await.unwrap();
            for i in 0..200u32 {
                let (r, _) = s.write_all(i.to_le_bytes().to_vec()).await;
                r.unwrap();
                boros_rt::yield_now().await;
                boros_rt::yield_now().await;
            }
            let big: Vec<u8> = (0..4 << 20).map(|i: u32| (i % 253) as u8).collect();
            let (r, _) = s.write_all(big).await;
            r.unwrap();
            s
        });
        let (server, _) = listener.accept().await.unwrap();
        let mut got = Vec::new();
        let before = boros_rt::stats().driver.ops_submitted;
        while got.len() < 800 {
            let (n, buf) = server.read(Vec::with_capacity(4)).await;
            n.unwrap();
            got.extend_from_slice(&buf);
        }
        let submitted = boros_rt::stats().driver.ops_submitted - before;
        let want: Vec<u8> = (0..200u32).flat_map(|i| i.to_le_bytes()).collect();
        assert_eq!(got, want);
        // The client's 200 sends and yields are in there too; the reads add at most a few.
        assert!(
            submitted < 200 + 20,
            "{submitted} ops for 200 sends and ~200 reads"
        );
        // Let the client push 4 MiB into a reader that is not reading.
        boros_rt::time::sleep(std::time::Duration::from_millis(50)).await;
        let mut big = Vec::new();
        let mut largest = 0;
        while big.len() < 4 << 20 {
            // Odd sizes first: a bundle's buffers split across reads.
            let cap = if big.len() < 1 << 20 { 1500 } else { 64 * 1024 };
            let (n, buf) = server.read(Vec::with_capacity(cap)).await;
            let n = n.unwrap();
            assert!(n > 0, "the stream ended early at {}", big.len());
            largest = largest.max(n);
            big.extend_from_slice(&buf);
        }
        assert!(big.iter().enumerate().all(|(i, &b)| b == (i % 253) as u8));
        if boros_rt::boros::net::recv_bundles(&boros_rt::ring_info()) {
            let ring = boros_rt::recv::RING_BUF_SIZE as usize;
            assert!(
                largest > ring,
                "no read beyond one {ring}-byte buffer: no bundles"
            );
        } else {
            let ring = boros_rt::recv::RING_BUF_SIZE_NO_BUNDLES as usize;
            assert!(largest <= ring, "a read of {largest} bytes without bundles");
        }
        drop(client.await.unwrap());
        let (n, _) = server.read(Vec::with_capacity(16)).await;
        assert_eq!(n.unwrap(), 0, "end of stream after the data");
    });
}

/// UDP against std's sockets: send_to/recv_from with addresses both ways, and a connected
/// pair with send/recv.
#[test]
fn udp_datagrams_to_and_from_std() {
    use boros_rt::net::UdpSocket;
    boros_rt::block_on(async {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = sock.local_addr().unwrap();
        let peer = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let peer_addr = peer.local_addr().unwrap();
        peer.send_to(b"ping one", addr).unwrap();
        let (r, buf) = sock.recv_from(Vec::with_capacity(64)).await;
        let (n, from) = r.unwrap();
        assert_eq!((&buf[..], n, from), (&b"ping one"[..], 8, peer_addr));
        let (r, _) = sock.send_to(b"pong".to_vec(), peer_addr).await;
        assert_eq!(r.unwrap(), 4);
        let mut got = [0u8; 16];
        let (n, from) = peer.recv_from(&mut got).unwrap();
        assert_eq!((&got[..n], from), (&b"pong"[..], addr));
        // Connected: send/recv.
        sock.connect(peer_addr).unwrap();
        peer.connect(addr).unwrap();
        peer.send(b"dgram").unwrap();
        let (n, buf) = sock.recv(vec![0u8; 3].into_boxed_slice()).await;
        assert_eq!(
            (n.unwrap(), &buf[..]),
            (3, &b"dgr"[..]),
            "truncated to the buffer"
        );
        let (n, _) = sock.send(&b"back"[..]).await;
        assert_eq!(n.unwrap(), 4);
        let n = peer.recv(&mut got).unwrap();
        assert_eq!(&got[..n], b"back");
    });
}

/// `send_zc` sends from the caller's buffer and gives it back after the notification.
#[test]
fn send_zc_sends_and_returns_the_buffer() {
    boros_rt::block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let client = boros_rt::spawn(async move { TcpStream::connect(addr).await.unwrap() });
        let (server, _) = listener.accept().await.unwrap();
        let client = client.await.unwrap();
        let data: Vec<u8> = (0..256 * 1024).map(|i: u32| (i % 251) as u8).collect();
        let mut sent = 0;
        let mut buf = data.clone();
        let reader = boros_rt::spawn(async move {
            let mut got = Vec::new();
            while got.len() < 256 * 1024 {
                let (n, b) = server.read(Vec::with_capacity(64 * 1024)).await;
                assert!(n.unwrap() > 0);
                got.extend_from_slice(&b);
            }
            got
        });
        while sent < data.len() {
            let len = buf.len();
            let (n, b) = client.send_zc(buf).await;
            assert_eq!(b.len(), len, "the buffer came back whole");
            sent += n.unwrap();
            buf = data[sent..].to_vec();
        }
        assert!(reader.await.unwrap() == data);
    });
}

/// `Incoming` is a `futures_core::Stream` of connections.
#[test]
fn incoming_is_a_stream() {
    use futures_core::Stream;
    boros_rt::block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let clients: Vec<_> = (0..3)
            .map(|_| std::net::TcpStream::connect(addr).unwrap())
            .collect();
        let mut incoming = std::pin::pin!(listener.incoming());
        for _ in 0..3 {
            let s = std::future::poll_fn(|cx| incoming.as_mut().poll_next(cx)).await;
            let s = s.expect("the stream never ends").unwrap();
            assert_eq!(s.peer_addr().unwrap().ip(), addr.ip());
        }
        drop(clients);
    });
}

/// At most one `io_uring_enter` per turn of the loop under socket traffic from other threads
/// (data arriving while the loop runs tasks makes the kernel flag deferred completion work):
/// the enter that waits also submits the turn's sends and runs that work, and the reap after
/// it enters no more (before, it entered again whenever the flag was up: under the echo
/// benchmark's load, most turns).
#[test]
fn socket_traffic_costs_at_most_one_enter_per_turn() {
    use std::io::{Read, Write};
    boros_rt::block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let clients: Vec<_> = (0..8)
            .map(|_| {
                std::thread::spawn(move || {
                    let mut s = std::net::TcpStream::connect(addr).unwrap();
                    s.set_nodelay(true).unwrap();
                    let mut buf = [7u8; 64];
                    for _ in 0..500 {
                        s.write_all(&buf).unwrap();
                        s.read_exact(&mut buf).unwrap();
                    }
                })
            })
            .collect();
        let mut set = JoinSet::new();
        for _ in 0..8 {
            let (stream, _) = listener.accept().await.unwrap();
            stream.set_nodelay(true).unwrap();
            set.spawn(echo(stream));
        }
        let before = boros_rt::stats();
        let echoed: usize = set.join_all().await.into_iter().map(|r| r.unwrap()).sum();
        let after = boros_rt::stats();
        for c in clients {
            c.join().unwrap();
        }
        assert_eq!(echoed, 8 * 500 * 64);
        let enters = after.driver.enter_calls - before.driver.enter_calls;
        let turns = after.ticks - before.ticks;
        let waits = after.waits - before.waits;
        // A turn that waited: exactly one enter. A turn that did not (a task woke another
        // during the run phase) reaps with enters of its own, a few at most. + 2: the counters
        // are read mid-turn.
        assert!(
            enters <= waits + 3 * (turns - waits) + 2,
            "{enters} enters in {turns} turns, {waits} of which waited"
        );
    });
}
