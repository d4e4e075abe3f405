//! Integration tests of cancellation and teardown against the running kernel: a blocked read
//! cancelled (inline and in io-wq), a stale key that must not reach the op reusing its slot,
//! and a driver dropped with ops in flight. No mocks.

mod common;

use boros::io_uring::squeue;
use boros::{op, Driver};
use common::{collect, pipe};
use std::os::fd::AsRawFd;
use std::time::Duration;

fn cancel_blocked_pipe_read(flags: squeue::Flags) {
    let (rx, _tx) = pipe();
    let mut driver = Driver::new().unwrap();
    let read = op::Read::new(rx.as_raw_fd(), Vec::with_capacity(64), op::CURRENT_POSITION);
    let key = driver.push_with(Box::new(read), 7, flags).unwrap();
    driver.submit().unwrap();
    driver.wait(1, Some(Duration::from_millis(50))).unwrap();
    let mut early = 0;
    driver.reap(boros::completions(|_| early += 1)).unwrap();
    assert_eq!(early, 0, "a read of an empty pipe must block");

    assert!(driver.cancel(key).unwrap());
    let done = collect(&mut driver, 1, Duration::from_secs(5));
    assert_eq!(done.len(), 1);
    let c = &done[0];
    assert_eq!(c.token, 7);
    assert_eq!(c.key, key);
    assert!(c.cancelled);
    assert!(c.is_final());
    assert!(
        c.result == -libc::ECANCELED || c.result == -libc::EINTR,
        "cancelled read completed with {}",
        c.result
    );
    // Exactly once: nothing else arrives, and the key is stale now.
    driver.wait(1, Some(Duration::from_millis(50))).unwrap();
    let mut more = 0;
    driver.reap(boros::completions(|_| more += 1)).unwrap();
    assert_eq!(more, 0);
    assert!(
        !driver.cancel(key).unwrap(),
        "second cancel of a completed op"
    );
    assert_eq!(driver.in_flight(), 0);
}

#[test]
fn cancel_blocked_read() {
    cancel_blocked_pipe_read(squeue::Flags::empty());
}

#[test]
fn cancel_blocked_read_in_io_wq() {
    cancel_blocked_pipe_read(squeue::Flags::ASYNC);
}

#[test]
fn stale_key_cannot_reach_reused_slot() {
    let (rx, tx) = pipe();
    let mut driver = Driver::new().unwrap();
    let old = driver.push(Box::new(op::Nop), 1).unwrap();
    let done = collect(&mut driver, 1, Duration::from_secs(5));
    assert_eq!(done[0].key, old);

    let read = op::Read::new(rx.as_raw_fd(), Vec::with_capacity(16), op::CURRENT_POSITION);
    let new = driver.push(Box::new(read), 2).unwrap();
    assert_eq!(
        old.as_u64() & 0xFFFF_FFFF,
        new.as_u64() & 0xFFFF_FFFF,
        "slot reused"
    );
    assert_ne!(old, new);
    driver.submit().unwrap();

    assert!(
        !driver.cancel(old).unwrap(),
        "stale key must not cancel the new op"
    );
    driver.wait(1, Some(Duration::from_millis(100))).unwrap();
    let mut seen = 0;
    driver.reap(boros::completions(|_| seen += 1)).unwrap();
    assert_eq!(seen, 0, "the new op must still be in flight");
    assert_eq!(driver.in_flight(), 1);

    // SAFETY: writes 5 bytes from a live buffer to the pipe.
    let written = unsafe { libc::write(tx.as_raw_fd(), b"hello".as_ptr().cast(), 5) };
    assert_eq!(written, 5);
    let mut done = collect(&mut driver, 1, Duration::from_secs(5));
    let c = &mut done[0];
    assert_eq!((c.token, c.key, c.cancelled), (2, new, false));
    let n = c.result().unwrap();
    assert_eq!(
        c.take_op::<op::Read<Vec<u8>>>().unwrap().into_buf(n),
        b"hello"
    );
}

/// Runs `f` on its own thread (rings are per thread) and fails if it does not finish in time.
fn finishes_within(limit: Duration, f: impl FnOnce() + Send + 'static) {
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let handle = std::thread::spawn(move || {
        f();
        let _ = done_tx.send(());
    });
    match done_rx.recv_timeout(limit) {
        Ok(()) => handle.join().unwrap(),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            std::panic::resume_unwind(handle.join().unwrap_err())
        }
        Err(e) => panic!("did not finish within {limit:?}: {e}"),
    }
}

#[test]
fn drop_with_ops_in_flight() {
    for flags in [squeue::Flags::empty(), squeue::Flags::ASYNC] {
        finishes_within(Duration::from_secs(10), move || {
            let (rx, tx) = pipe();
            let mut driver = Driver::new().unwrap();
            for i in 0..4 {
                let read = op::Read::new(rx.as_raw_fd(), vec![0u8; 4096], op::CURRENT_POSITION);
                driver.push_with(Box::new(read), i, flags).unwrap();
            }
            driver.submit().unwrap();
            // One more that was never submitted.
            driver
                .push(Box::new(op::Read::new(rx.as_raw_fd(), vec![0u8; 64], 0)), 9)
                .unwrap();
            assert_eq!(driver.in_flight(), 5);
            drop(driver);
            drop((rx, tx));
        });
    }
}
