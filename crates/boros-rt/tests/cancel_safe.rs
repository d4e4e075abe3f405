//! Cancel-safe ops: a read cancelled after its data arrived gives the data back.

/// A read that completed just before its future lost a race used to lose its bytes (1 in
/// 200 late cancels under valgrind). `read_cancelable` + `cancel()` gives them back: over 200
/// reads cancelled at every point of their life (before the data, as it arrives, after the
/// CQE was reaped), every byte sent is received exactly once, in order.
#[test]
fn cancelable_reads_give_back_bytes_that_arrived() {
    use boros_rt::future::poll_once;
    use boros_rt::net::UnixStream;
    boros_rt::block_on(async {
        let (a, b) = UnixStream::pair().unwrap();
        let mut sent = Vec::new();
        let mut got = Vec::new();
        let (mut won, mut cancelled) = (0, 0);
        for i in 0..200u32 {
            let mut read = a.read_cancelable(Vec::with_capacity(4096));
            let early = poll_once(&mut read).await;
            assert!(early.is_none(), "nothing was sent yet");
            if i % 4 != 0 {
                boros_rt::yield_now().await; // the recv reaches the kernel and parks
            }
            if i % 4 != 1 {
                let msg = vec![i as u8; 1 + (i as usize % 7)];
                sent.extend_from_slice(&msg);
                let (r, _) = b.write_all(msg).await;
                r.unwrap();
            }
            for _ in 0..(i % 3) {
                boros_rt::yield_now().await; // maybe the recv's CQE is reaped first
            }
            let (r, buf) = read.cancel().await;
            match r {
                Ok(n) => {
                    won += 1;
                    assert_eq!(buf.len(), n);
                    got.extend_from_slice(&buf);
                }
                Err(e) => {
                    cancelled += 1;
                    assert_eq!(e.raw_os_error(), Some(libc::ECANCELED), "{e}");
                    assert!(buf.is_empty());
                }
            }
        }
        // Whatever the cancelled reads did not take is still in the socket.
        b.shutdown(std::net::Shutdown::Write).unwrap();
        loop {
            let (n, buf) = a.read(Vec::with_capacity(4096)).await;
            if n.unwrap() == 0 {
                break;
            }
            got.extend_from_slice(&buf);
        }
        assert_eq!(got, sent, "every byte once, in order ({won} reads won, {cancelled} cancelled)");
        assert!(won > 0 && cancelled > 0, "both outcomes occur: {won} won, {cancelled} cancelled");

        // A file read that completed comes back through cancel() with its bytes.
        let path = std::env::temp_dir().join(format!("boros-rt-cancelable-{}", std::process::id()));
        std::fs::write(&path, b"hello, cancel").unwrap();
        let f = boros_rt::fs::File::open(&path).await.unwrap();
        let mut read = f.read_at_cancelable(Vec::with_capacity(64), 0);
        let _ = poll_once(&mut read).await;
        boros_rt::yield_now().await;
        let (n, buf) = read.cancel().await;
        assert_eq!((n.unwrap(), &buf[..]), (13, &b"hello, cancel"[..]));
        // Never polled: nothing queued, the buffer comes straight back.
        let read = f.read_at_cancelable(vec![1u8, 2, 3], 0);
        let (n, buf) = read.cancel().await;
        assert_eq!(n.unwrap_err().raw_os_error(), Some(libc::ECANCELED));
        assert!(buf.is_empty() && buf.capacity() >= 3, "the Vec's length is the 0 bytes read");
        std::fs::remove_file(&path).unwrap();
    });
}
