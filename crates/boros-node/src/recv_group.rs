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
/// kernel, for a later pass); 0: no limit, the group grows to its 1,024 buffers. Off: at
/// 16 KiB x 1,000 connections a budget of 8 MiB (512 full buffers) or 4 MiB (256) lowered the
/// Node 20 peak by ~10 MiB on average (not in every run; not measurably on Node 24), but the
/// echo's p99 was longer than without it in 15 of 19 side-by-side pairs (max latency up to
/// 630 ms against 215), and 207 ms against node:net's 17 in the one bench run on a quiet
/// machine (docs/net.md, fifth round): a starved receive is armed again after the batch's
/// JS, so its bytes wait a JS round. Submitting it inside the reap instead (tried in the
/// sixth round) removes that wait, and with it the saving: Node 20 peaked at 111–114 MiB with
/// the budget against 113–130 without; the ~8 MiB came from splitting the JS batch, not from
/// the ring (docs/net.md, sixth round). Measured again with the driver's re-arm (seventh
/// round): 4 MiB (or a cap of 256 buffers) saves 16–18 MiB of peak on Node 20 and 24 for a
/// p99 2.5–3.7x longer, 8 MiB 8–10 MiB for 2–2.5x: the bounded group serves some connections
/// 4x as often as others (two in three `-ENOBUFS` are a re-armed receive that finds the group
/// empty again). Off.
const RECV_TOUCH_BUDGET: usize = 0;

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
