//! Provided buffer rings and multishot read against the running kernel (6.7+ for multishot).

use boros::{op, BufRing, Completion, Driver};
use std::io::Write as _;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::rc::Rc;
use std::time::{Duration, Instant};

fn pipe() -> (std::fs::File, std::fs::File) {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two descriptors into the array we pass.
    let r = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    assert_eq!(r, 0, "pipe2: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors are fresh and owned by nobody else.
    unsafe {
        (
            std::fs::File::from(OwnedFd::from_raw_fd(fds[0])),
            std::fs::File::from(OwnedFd::from_raw_fd(fds[1])),
        )
    }
}

fn has_multishot(d: &Driver) -> bool {
    let ok = d
        .info()
        .support
        .has(boros::io_uring::opcode::ReadMulti::CODE);
    if !ok {
        eprintln!(
            "skipped: kernel {} has no READ_MULTISHOT (6.7+)",
            d.info().kernel
        );
    }
    ok
}

/// Reaps until `pred` says stop, leasing every buffer a CQE carries into `data` (in CQE
/// order); returns the final completions seen.
fn pump(
    d: &mut Driver,
    ring: &BufRing,
    data: &mut Vec<u8>,
    mut stop: impl FnMut(&[Completion], &[u8]) -> bool,
) -> Vec<Completion> {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut finals = Vec::new();
    loop {
        d.reap(boros::completions(|c| {
            if let Some(lease) = ring.lease(&c) {
                assert_eq!(lease.len(), c.result as usize);
                data.extend_from_slice(&lease);
            }
            if c.is_final() {
                finals.push(c);
            }
        }))
        .unwrap();
        if stop(&finals, data) {
            return finals;
        }
        assert!(
            Instant::now() < deadline,
            "timed out: {} bytes, finals {:?}",
            data.len(),
            finals.iter().map(|c| c.result).collect::<Vec<_>>()
        );
        d.wait(1, Some(Duration::from_millis(50))).unwrap();
    }
}

#[test]
fn multishot_read_returns_chunks_in_order() {
    let mut d = Driver::new().unwrap();
    if !has_multishot(&d) {
        return;
    }
    let ring = d.register_buf_ring(8, 4096).unwrap();
    let (r, mut w) = pipe();
    let key = d
        .push(Box::new(op::ReadMulti::new(r.as_raw_fd(), ring.clone())), 7)
        .unwrap();
    d.submit().unwrap();
    let mut expect = Vec::new();
    let mut data = Vec::new();
    let mut cqes = 0;
    // 200 chunks, each written after the previous one was read: far more CQEs than buffers,
    // so buffers must be recycled for this to finish.
    for i in 0..200u32 {
        let chunk: Vec<u8> = format!("chunk {i:05} ")
            .repeat(1 + (i as usize % 7))
            .into_bytes();
        w.write_all(&chunk).unwrap();
        expect.extend_from_slice(&chunk);
        let want = expect.len();
        let finals = pump(&mut d, &ring, &mut data, |f, data| {
            assert!(
                f.is_empty(),
                "the multishot op ended early: {}",
                f[0].result
            );
            data.len() >= want
        });
        assert!(finals.is_empty());
        cqes += 1;
    }
    assert_eq!(data, expect);
    assert_eq!(ring.leased(), 0);
    assert_eq!(ring.users(), 1);
    assert!(cqes >= 200);
    // End of file ends the op: a final CQE with 0, and the group is free again.
    drop(w);
    let finals = pump(&mut d, &ring, &mut data, |f, _| !f.is_empty());
    assert_eq!(finals[0].result, 0);
    assert_eq!(finals[0].key, key);
    assert_eq!(ring.users(), 0);
    assert_eq!(d.in_flight(), 0);
    d.unregister_buf_ring(&ring);
    assert!(ring.is_unregistered());
}

#[test]
fn exhausted_group_ends_with_enobufs_and_rearms() {
    let mut d = Driver::new().unwrap();
    if !has_multishot(&d) {
        return;
    }
    let ring = d.register_buf_ring(2, 16).unwrap();
    let (r, mut w) = pipe();
    let payload: Vec<u8> = (0..100u8).collect();
    w.write_all(&payload).unwrap();
    let mut data = Vec::new();
    let mut held = Vec::new();
    // Hold the leases (do not recycle): two buffers, then the kernel has none left.
    d.push(Box::new(op::ReadMulti::new(r.as_raw_fd(), ring.clone())), 1)
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut result = None;
    while result.is_none() {
        d.wait(1, Some(Duration::from_millis(50))).unwrap();
        d.reap(boros::completions(|c| {
            if c.buffer_id().is_some() {
                held.push((c.buffer_id().unwrap(), c.result));
            }
            if c.is_final() {
                result = Some(c.result);
            }
        }))
        .unwrap();
        assert!(Instant::now() < deadline);
    }
    assert_eq!(result, Some(-libc::ENOBUFS));
    assert_eq!(held.len(), 2, "both buffers filled before ENOBUFS");
    assert_eq!(ring.users(), 0);
    // Those two buffers were never leased, so they are lost to the group (the consumer's
    // contract is to lease every buffer it is given). The rest of the stream is intact:
    // read it through a second group.
    let ring2 = d.register_buf_ring(4, 64).unwrap();
    d.push(
        Box::new(op::ReadMulti::new(r.as_raw_fd(), ring2.clone())),
        2,
    )
    .unwrap();
    drop(w);
    let finals = pump(&mut d, &ring2, &mut data, |f, _| !f.is_empty());
    assert_eq!(finals[0].result, 0);
    assert_eq!(data, payload[32..], "the rest of the pipe, in order");
    assert!(held.iter().all(|&(_, n)| n == 16));
}

#[test]
fn enobufs_then_recycle_and_rearm_loses_nothing() {
    let mut d = Driver::new().unwrap();
    if !has_multishot(&d) {
        return;
    }
    let ring = d.register_buf_ring(2, 16).unwrap();
    let (r, mut w) = pipe();
    let payload: Vec<u8> = (0..200u8).collect();
    w.write_all(&payload).unwrap();
    drop(w);
    let mut data = Vec::new();
    let mut enobufs = 0;
    loop {
        d.push(Box::new(op::ReadMulti::new(r.as_raw_fd(), ring.clone())), 1)
            .unwrap();
        // Lease without dropping until the op ended: the group runs dry after two buffers.
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut fin = None;
        let mut chunks: Vec<(u16, i32)> = Vec::new();
        let mut leases = Vec::new();
        while fin.is_none() {
            d.wait(1, Some(Duration::from_millis(50))).unwrap();
            let mut got = Vec::new();
            d.reap(boros::completions(|c| got.push(c))).unwrap();
            for c in got {
                if let Some(l) = ring.lease(&c) {
                    chunks.push((l.bid(), c.result));
                    data.extend_from_slice(&l);
                    leases.push(l);
                }
                if c.is_final() {
                    fin = Some(c.result);
                }
            }
            assert!(Instant::now() < deadline);
        }
        assert!(leases.len() <= 2);
        drop(leases); // recycle
        match fin.unwrap() {
            0 => break,
            e if e == -libc::ENOBUFS => enobufs += 1,
            e => panic!("unexpected final result {e}"),
        }
    }
    assert!(enobufs >= 1, "a 2-buffer group must run dry on 200 bytes");
    assert_eq!(data, payload);
    assert_eq!(ring.leased(), 0);
}

#[test]
fn cancel_multishot_read() {
    let mut d = Driver::new().unwrap();
    if !has_multishot(&d) {
        return;
    }
    let ring = d.register_buf_ring(4, 64).unwrap();
    let (r, mut w) = pipe();
    let key = d
        .push(Box::new(op::ReadMulti::new(r.as_raw_fd(), ring.clone())), 3)
        .unwrap();
    w.write_all(b"first").unwrap();
    let mut data = Vec::new();
    pump(&mut d, &ring, &mut data, |f, data| {
        assert!(f.is_empty());
        data.len() == 5
    });
    // Unregistering while the op is armed is deferred until its final CQE.
    d.unregister_buf_ring(&ring);
    assert!(!ring.is_unregistered());
    assert!(d.cancel(key).unwrap());
    let finals = pump(&mut d, &ring, &mut data, |f, _| !f.is_empty());
    assert_eq!(finals[0].result, -libc::ECANCELED);
    assert!(finals[0].cancelled);
    assert_eq!(data, b"first");
    assert_eq!(ring.users(), 0);
    assert!(
        ring.is_unregistered(),
        "unregistered once the last user finished"
    );
    assert_eq!(d.buf_rings(), 0);
    assert!(!d.cancel(key).unwrap(), "stale key after the final CQE");
}

#[test]
fn drop_driver_with_multishot_in_flight() {
    // In another thread, so a hang fails the test instead of blocking it forever.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut d = Driver::new().unwrap();
        if !has_multishot(&d) {
            tx.send(None).unwrap();
            return;
        }
        let ring = d.register_buf_ring(4, 64).unwrap();
        let (r, w) = pipe();
        let weak = Rc::downgrade(&ring);
        for _ in 0..3 {
            d.push(Box::new(op::ReadMulti::new(r.as_raw_fd(), ring.clone())), 1)
                .unwrap();
        }
        d.submit().unwrap();
        drop(ring); // only the driver and the ops hold the group now
        drop(d); // cancels, waits for every final CQE, then frees the ops and the group
        let gone = weak.upgrade().is_none();
        drop((r, w));
        tx.send(Some(gone)).unwrap();
    });
    let outcome = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("Driver::drop hung");
    if let Some(gone) = outcome {
        assert!(gone, "the group is freed once the ops are done");
    }
}

#[test]
fn lease_refuses_foreign_and_double_use() {
    let mut d = Driver::new().unwrap();
    if !has_multishot(&d) {
        return;
    }
    let a = d.register_buf_ring(2, 64).unwrap();
    let b = d.register_buf_ring(2, 64).unwrap();
    assert_ne!(a.bgid(), b.bgid());
    let (r, mut w) = pipe();
    d.push(Box::new(op::ReadMulti::new(r.as_raw_fd(), a.clone())), 1)
        .unwrap();
    w.write_all(b"x").unwrap();
    let mut got = None;
    let deadline = Instant::now() + Duration::from_secs(5);
    while got.is_none() {
        d.wait(1, Some(Duration::from_millis(50))).unwrap();
        d.reap(boros::completions(|c| got = Some(c))).unwrap();
        assert!(Instant::now() < deadline);
    }
    let c = got.unwrap();
    assert!(
        b.lease(&c).is_none(),
        "a CQE of group a cannot lease from group b"
    );
    let l = a.lease(&c).expect("lease");
    assert_eq!(&*l, b"x");
    assert!(a.lease(&c).is_none(), "a buffer cannot be leased twice");
    drop(l);
    assert_eq!(a.leased(), 0);
    assert!(BufRingCheck::bad_sizes(&mut d));
}

struct BufRingCheck;
impl BufRingCheck {
    fn bad_sizes(d: &mut Driver) -> bool {
        [0u16, 3, 6]
            .iter()
            .all(|&n| d.register_buf_ring(n, 64).is_err())
            && d.register_buf_ring(4, 0).is_err()
    }
}

#[test]
fn shared_group_is_one_per_ring_and_comes_back_after_unregister() {
    let mut d = Driver::new().unwrap();
    let Some(a) = d.shared_buf_ring(64, 16, 64, 4096).unwrap() else {
        eprintln!("skipped: the kernel refused a 64-buffer group (RLIMIT_MEMLOCK)");
        return;
    };
    let b = d.shared_buf_ring(64, 16, 64, 4096).unwrap().unwrap();
    assert!(std::rc::Rc::ptr_eq(&a, &b), "one shared group per ring");
    assert_eq!(d.buf_rings(), 1);
    d.unregister_buf_ring(&a);
    assert!(a.is_unregistered());
    let c = d.shared_buf_ring(64, 16, 64, 4096).unwrap().unwrap();
    assert!(!c.is_unregistered() && !std::rc::Rc::ptr_eq(&a, &c));
    // Another ring has its own.
    let mut other = Driver::new().unwrap();
    let o = other.shared_buf_ring(64, 16, 64, 4096).unwrap().unwrap();
    assert!(!std::rc::Rc::ptr_eq(&o, &c));
}
