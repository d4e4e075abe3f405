//! The thread's shared receive group: the provided buffers every connection of `boros/net`
//! ([`crate::api::net`]) and of the HTTP engine ([`crate::http`]) receives into. Both use it,
//! so it lives below them.

use crate::complete::NodeOp;
use crate::js::{self, codes, Result};
use boros::BufRing;
use std::cell::RefCell;
use std::rc::Rc;

/// Buffers of the thread's shared receive group, and their size.
const RECV_BUFFERS: u16 = 1024;
const RECV_BUFFER_SIZE: u32 = 16 * 1024;

thread_local! {
    /// The provided-buffer group every connection of this thread receives into (registered on
    /// the first receive). Buffers go back to the kernel in the reap that filled them.
    static RECV_RING: RefCell<Option<Rc<BufRing>>> = const { RefCell::new(None) };
    /// Set once the kernel refused every size of that group (ENOMEM under a small
    /// `RLIMIT_MEMLOCK`): receives are then plain single `recv`s ([`crate::ops::RecvOnce`]).
    static RECV_PLAIN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The smallest shared receive group tried before receives fall back to plain `recv`s.
const RECV_BUFFERS_MIN: u16 = 16;

fn os_error(e: std::io::Error, syscall: &str) -> js::Error {
    let errno = e.raw_os_error().unwrap_or(libc::EIO);
    js::error(
        codes::SUBMIT_FAILED,
        format!("{syscall} failed: {e} (errno {errno})"),
    )
}

/// The thread's shared receive group, registered on first use (again after the ring
/// unregistered it). Its ring of entries is pinned
/// memory (RLIMIT_MEMLOCK for a user without CAP_IPC_LOCK): on ENOMEM smaller groups are tried,
/// then `None`: receives are plain single `recv`s from then on (issue 24 item 3: this used to
/// throw inside Socket._read and kill the process).
pub(crate) fn shared(driver: &mut boros::Driver<dyn NodeOp>) -> Result<Option<Rc<BufRing>>> {
    if RECV_PLAIN.with(std::cell::Cell::get) {
        return Ok(None);
    }
    RECV_RING.with(|r| -> Result<Option<Rc<BufRing>>> {
        let mut r = r.borrow_mut();
        if let Some(ring) = r.as_ref().filter(|g| !g.is_unregistered()) {
            return Ok(Some(Rc::clone(ring)));
        }
        let mut entries = RECV_BUFFERS;
        loop {
            match driver.register_buf_ring(entries, RECV_BUFFER_SIZE) {
                Ok(ring) => {
                    *r = Some(Rc::clone(&ring));
                    return Ok(Some(ring));
                }
                Err(e) if e.raw_os_error() == Some(libc::ENOMEM) => {
                    if entries / 2 < RECV_BUFFERS_MIN {
                        RECV_PLAIN.with(|p| p.set(true));
                        return Ok(None);
                    }
                    entries /= 2;
                }
                Err(e) => return Err(os_error(e, "IORING_REGISTER_PBUF_RING")),
            }
        }
    })
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
