//! The poll-based adapters (`compat`): tokio's and futures' `AsyncRead`/`AsyncWrite` on
//! boros-rt sockets, driven by tokio's own `io-util` combinators. Needs `--all-features`
//! (`npm test` passes it).
#![cfg(all(feature = "tokio-io", feature = "futures-io"))]

use boros_rt::compat::Compat;
use boros_rt::net::{TcpListener, TcpStream, UnixStream};
use std::pin::Pin;
use std::task::Poll;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[test]
fn tokio_io_traits_move_a_megabyte_both_ways() {
    boros_rt::block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        // An echo server written against tokio's traits.
        let server = boros_rt::spawn(async move {
            let (s, _) = listener.accept().await.unwrap();
            let mut io = Compat::new(s);
            let mut buf = vec![0u8; 7000];
            let mut total = 0usize;
            loop {
                let n = io.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                total += n;
                io.write_all(&buf[..n]).await.unwrap();
            }
            io.shutdown().await.unwrap();
            total
        });
        let client = Compat::new(TcpStream::connect(addr).await.unwrap());
        let (mut rd, mut wr) = tokio::io::split(client);
        let data: Vec<u8> = (0..1 << 20).map(|i: u32| (i * 7 % 256) as u8).collect();
        let expect = data.clone();
        let writer = boros_rt::spawn(async move {
            for chunk in data.chunks(3001) {
                wr.write_all(chunk).await.unwrap();
            }
            wr.flush().await.unwrap();
            wr.shutdown().await.unwrap();
        });
        let mut back = Vec::new();
        rd.read_to_end(&mut back).await.unwrap();
        writer.await.unwrap();
        assert_eq!(server.await.unwrap(), 1 << 20);
        assert!(back == expect, "the echo came back whole and in order");
    });
}

#[test]
fn futures_io_traits_read_and_write() {
    use futures_io::{AsyncRead, AsyncWrite};
    boros_rt::block_on(async {
        let (a, b) = UnixStream::pair().unwrap();
        let (mut a, mut b) = (Compat::new(a), Compat::new(b));
        let n = std::future::poll_fn(|cx| Pin::new(&mut a).poll_write(cx, b"hello futures"))
            .await
            .unwrap();
        assert_eq!(n, 13);
        std::future::poll_fn(|cx| Pin::new(&mut a).poll_close(cx))
            .await
            .unwrap();
        let mut got = Vec::new();
        loop {
            let mut buf = [0u8; 5];
            let n = std::future::poll_fn(|cx| match Pin::new(&mut b).poll_read(cx, &mut buf) {
                Poll::Ready(r) => Poll::Ready(r),
                Poll::Pending => Poll::Pending,
            })
            .await
            .unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(got, b"hello futures");
    });
}
