//! The thread's shared receive group: the provided buffers every connection of `boros/net`
//! ([`crate::api::net`]) and of the HTTP engine ([`crate::http`]) receives into. Both use it,
//! so it lives below them.

use crate::complete::NodeOp;
use crate::js::{self, codes, Result};
use boros::BufRing;
use std::rc::Rc;

/// Buffers of the thread's shared receive group at most, and their size.
const RECV_BUFFERS: u16 = 1024;
const RECV_BUFFER_SIZE: u32 = 16 * 1024;

/// Buffers of the shared receive group in circulation at first (1 MiB): more when receives
/// find it empty (`-ENOBUFS`), up to `RECV_BUFFERS`; back down to this when demand drops.
const RECV_BUFFERS_INITIAL: u16 = 64;

/// Most bytes of received data the shared group's buffers in circulation may cover
/// (`BufRing::set_touch_budget`; past it, data waits in the sockets' receive buffers, in the
/// kernel, for a later pass, as it does for libuv, which reads one socket at a time): 256
/// full 16 KiB buffers, all 1,024 for receives of one page. At 16 KiB x 1,000 connections it
/// lowered the peak by 16–18 MiB on Node 20 and 24 with the p99, CPU per message and
/// fairness of the unbounded group, once the driver armed the receives that found it empty
/// at once, ahead of the receives still armed (`boros` `reap.rs`, `rearm_starved`); before
/// that a bounded group served some connections 4x as often as others and tripled the p99
/// (docs/net.md, seventh round). 0: no limit.
const RECV_TOUCH_BUDGET: usize = 4 << 20;

/// The smallest shared receive group tried before receives fall back to plain `recv`s.
const RECV_BUFFERS_MIN: u16 = 16;

fn os_error(e: std::io::Error, syscall: &str) -> js::Error {
    let errno = e.raw_os_error().unwrap_or(libc::EIO);
    js::error(
        codes::SUBMIT_FAILED,
        format!("{syscall} failed: {e} (errno {errno})"),
    )
}

/// The thread's shared receive group: the ring's own ([`boros::Driver::shared_buf_ring`],
/// owned by the driver, so by this thread's runtime), registered on first use (again after the
/// ring unregistered it). Its ring of entries is pinned memory (RLIMIT_MEMLOCK for a user
/// without CAP_IPC_LOCK): on ENOMEM smaller groups are tried, then `None`: receives are plain
/// single `recv`s ([`crate::ops::RecvOnce`]) from then on (issue 24 item 3: this used to throw
/// inside Socket._read and kill the process).
pub(crate) fn shared(driver: &mut boros::Driver<dyn NodeOp>) -> Result<Option<Rc<BufRing>>> {
    driver
        .shared_buf_ring(
            RECV_BUFFERS,
            RECV_BUFFERS_MIN,
            RECV_BUFFERS_INITIAL,
            RECV_BUFFER_SIZE,
        )
        .inspect(|group| {
            if let Some(g) = group {
                g.set_touch_budget(RECV_TOUCH_BUDGET);
            }
        })
        .map_err(|e| os_error(e, "IORING_REGISTER_PBUF_RING"))
}

/// The shared receive group for the HTTP engine's connections (an error where only plain
/// receives are left: the engine has no plain-receive path yet).
pub(crate) fn recv_ring(driver: &mut boros::Driver<dyn NodeOp>) -> Result<Rc<BufRing>> {
    shared(driver)?.ok_or_else(|| {
        os_error(
            std::io::Error::from_raw_os_error(libc::ENOMEM),
            "IORING_REGISTER_PBUF_RING",
        )
    })
}
