//! Cancel-safe reads: a read that loses a race gives back (or keeps) the bytes that arrived.

use boros_rt::future::{poll_once, select, Either};
use boros_rt::net::UnixStream;
use boros_rt::time::sleep;
use std::os::fd::{FromRawFd, OwnedFd};
use std::time::Duration;

fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two descriptors into the array.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: fresh descriptors nobody else owns.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

/// A read that completed just before its future lost a race used to lose its bytes (1 in
/// 200 late cancels under valgrind). `read_at_cancelable` + `cancel()` gives them back: over
/// 200 reads cancelled at every point of their life (before the data, as it arrives, after
/// the CQE was reaped), every byte written is received exactly once, in order.
#[test]
fn cancelable_reads_give_back_bytes_that_arrived() {
    boros_rt::block_on(async {
        let (r, w) = pipe();
        let reader = boros_rt::fs::File::from_std(std::fs::File::from(r));
        let mut sent = Vec::new();
        let mut got = Vec::new();
        let (mut won, mut cancelled) = (0, 0);
        for i in 0..200u32 {
            let mut read =
                reader.read_at_cancelable(Vec::with_capacity(4096), boros_rt::op::CURRENT_POSITION);
            assert!(
                poll_once(&mut read).await.is_none(),
                "nothing was written yet"
            );
            if i % 4 != 0 {
                boros_rt::yield_now().await; // the read reaches the kernel and parks
            }
            if i % 4 != 1 {
                let msg = vec![i as u8; 1 + (i as usize % 7)];
                sent.extend_from_slice(&msg);
                // SAFETY: writes from a live buffer to a pipe we own.
                let n = unsafe {
                    libc::write(
                        std::os::fd::AsRawFd::as_raw_fd(&w),
                        msg.as_ptr().cast(),
                        msg.len(),
                    )
                };
                assert_eq!(n, msg.len() as isize);
            }
            for _ in 0..(i % 3) {
                boros_rt::yield_now().await; // maybe the read's CQE is reaped first
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
        // Whatever the cancelled reads did not take is still in the pipe.
        drop(w);
        loop {
            let (n, buf) = reader
                .read_at(Vec::with_capacity(4096), boros_rt::op::CURRENT_POSITION)
                .await;
            if n.unwrap() == 0 {
                break;
            }
            got.extend_from_slice(&buf);
        }
        assert_eq!(
            got, sent,
            "every byte once, in order ({won} reads won, {cancelled} cancelled)"
        );
        assert!(
            won > 0 && cancelled > 0,
            "both outcomes occur: {won} won, {cancelled} cancelled"
        );

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
        assert!(
            buf.is_empty() && buf.capacity() >= 3,
            "the Vec's length is the 0 bytes read"
        );
        std::fs::remove_file(&path).unwrap();
    });
}

/// Socket reads (multishot recv) are cancel-safe as they are: reads that lose a `select`
/// against a timer, dropped at every point, lose no byte; small reads take a chunk in parts.
#[test]
fn socket_reads_dropped_in_a_select_lose_nothing() {
    boros_rt::block_on(async {
        let (a, b) = UnixStream::pair().unwrap();
        let writer = boros_rt::spawn(async move {
            let mut sent = Vec::new();
            for i in 0..300u32 {
                let msg: Vec<u8> = (0..(1 + i % 200)).map(|j| (i + j) as u8).collect();
                sent.extend_from_slice(&msg);
                let (r, _) = b.write_all(msg).await;
                r.unwrap();
                if i % 3 == 0 {
                    sleep(Duration::from_micros(200)).await;
                }
            }
            drop(b);
            sent
        });
        let mut got = Vec::new();
        let mut timeouts = 0;
        loop {
            let size = 1 + got.len() % 97; // small, varying: chunks are split across reads
            match select(
                a.read(Vec::with_capacity(size)),
                sleep(Duration::from_micros(100)),
            )
            .await
            {
                Either::Left((n, buf)) => {
                    if n.unwrap() == 0 {
                        break;
                    }
                    got.extend_from_slice(&buf);
                }
                Either::Right(()) => timeouts += 1, // the read future was dropped
            }
        }
        let sent = writer.await.unwrap();
        assert_eq!(got.len(), sent.len(), "{timeouts} reads dropped");
        assert!(got == sent, "every byte once, in order");
        assert!(timeouts > 0, "some reads lost the race");
    });
}
