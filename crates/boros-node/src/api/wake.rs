//! `boros doctor`'s wake-up check: how long after a socket event the descriptor libuv would
//! sleep on becomes readable while the owning thread sleeps in `poll` (as libuv sleeps in
//! epoll): the ring fd of a `COOP_TASKRUN` ring (the runtime's setup), the registered eventfd of
//! a `DEFER_TASKRUN` ring (`BOROS_TASKRUN=defer`).
//!
//! On some kernels (6.18 here) a `DEFER_TASKRUN` ring signals its eventfd ~14 ms late: the delay
//! every round trip of a single connection paid before the runtime moved to `COOP_TASKRUN` (see
//! `runtime::task_run_mode`). A kernel that did not wake a `COOP_TASKRUN` ring's pollers would
//! show here as ~200 ms (the poll's timeout). This measures both on a throwaway ring and socket pair.

use boros::io_uring::{opcode, types, IoUring};
use napi_derive::napi;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

/// How long a throwaway ring took to wake a thread asleep in poll after a socket write, per setup.
#[napi(object)]
pub struct WakeReport {
    /// `DEFER_TASKRUN`, its registered eventfd polled (milliseconds, best of 3), or null when
    /// the setup failed.
    pub defer_ms: Option<f64>,
    /// `COOP_TASKRUN`, its ring fd polled: the runtime's setup (milliseconds, best of 3), or null.
    pub coop_ms: Option<f64>,
}

/// Measures the wake-up delay of a `DEFER_TASKRUN` ring's eventfd and of a `COOP_TASKRUN`
/// ring's own fd. Takes ~30 ms (more when the delay is there); needs no `init`.
#[napi]
pub fn wake_probe() -> WakeReport {
    let best = |defer: bool| {
        (0..3)
            .filter_map(|_| wake_delay(defer).ok())
            .min()
            .map(|d| d.as_secs_f64() * 1000.0)
    };
    WakeReport {
        defer_ms: best(true),
        coop_ms: best(false),
    }
}

fn wake_delay(defer: bool) -> std::io::Result<Duration> {
    let mut b =
        IoUring::<boros::io_uring::squeue::Entry, boros::io_uring::cqueue::Entry>::builder();
    b.setup_single_issuer().setup_taskrun_flag();
    if defer {
        b.setup_defer_taskrun();
    } else {
        b.setup_coop_taskrun();
    }
    let mut ring = b.build(4)?;
    let mut fds = [0; 2];
    // SAFETY: plain syscalls writing into locals; results checked before use.
    let (efd, a, peer) = unsafe {
        let e = libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK);
        if e < 0
            || libc::socketpair(
                libc::AF_UNIX,
                libc::SOCK_STREAM | libc::SOCK_CLOEXEC,
                0,
                fds.as_mut_ptr(),
            ) != 0
        {
            if e >= 0 {
                libc::close(e);
            }
            return Err(std::io::Error::last_os_error());
        }
        (
            OwnedFd::from_raw_fd(e),
            OwnedFd::from_raw_fd(fds[0]),
            OwnedFd::from_raw_fd(fds[1]),
        )
    };
    // What the runtime sleeps on (lifecycle.rs): the eventfd with DEFER_TASKRUN, else the ring.
    let watched = if defer {
        ring.submitter().register_eventfd(efd.as_raw_fd())?;
        efd.as_raw_fd()
    } else {
        ring.as_raw_fd()
    };
    let mut buf = [0u8; 8];
    let recv =
        opcode::Recv::new(types::Fd(a.as_raw_fd()), buf.as_mut_ptr(), buf.len() as u32).build();
    // SAFETY: `buf` and the socket outlive the op: we wait for its CQE below before returning.
    unsafe { ring.submission().push(&recv) }.map_err(|_| std::io::Error::other("SQ full"))?;
    ring.submit()?;
    // The peer writes once this thread is asleep in poll.
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(3));
        let t = Instant::now();
        // SAFETY: writes one byte from a local to the peer socket we own.
        unsafe { libc::write(peer.as_raw_fd(), b"x".as_ptr().cast(), 1) };
        (t, peer)
    });
    let mut pfd = libc::pollfd {
        fd: watched,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: polls one pollfd on the stack.
    unsafe { libc::poll(&mut pfd, 1, 200) };
    let woke = Instant::now();
    let (wrote, _peer) = writer
        .join()
        .map_err(|_| std::io::Error::other("writer panicked"))?;
    // The byte was written: the recv completes; collect its CQE before `buf` goes away.
    ring.submit_and_wait(1)?;
    ring.completion().for_each(drop);
    Ok(woke.saturating_duration_since(wrote))
}
