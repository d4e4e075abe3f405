//! Socket reads on one **multishot recv** per connection, into a provided-buffer ring of
//! the connection's own (`IORING_OP_RECV` + `IORING_RECV_MULTISHOT`, Linux 6.0).
//!
//! The first read arms the op; from then on the kernel receives into the ring's buffers as
//! data arrives, one CQE per chunk, with no SQE per read. Where the kernel takes recv
//! bundles (Linux 6.10, `IORING_RECVSEND_BUNDLE`), one CQE covers as many buffers as the data
//! filled. A read takes the oldest CQE's chunk, copies it into the caller's buffer (what does
//! not fit waits for the next read) and gives its ring buffers back to the kernel at once. So:
//!
//! - a read is **cancel-safe**: a chunk stays queued in the runtime until a read copies it
//!   out in one poll, so dropping a read future loses nothing;
//! - each connection has its own small ring ([`RING_ENTRIES`] x [`RING_BUF_SIZE`], mapped
//!   when the connection first reads): a connection that stops reading stops receiving when
//!   its ring is full (the kernel ends the op with `-ENOBUFS`, the data waits in the socket,
//!   TCP flow control slows the peer), and never starves another connection;
//! - the op is re-armed by the next read when the kernel ends it (a full ring, a full CQ);
//!   end of stream and errors are delivered in order after the data before them.
//!
//! Where the ring cannot be registered (memory limits), reads fall back to one `recv` op each.

use crate::op::{Multi, Op};
use crate::runtime::{with_current, Core};
use boros::multishot::{self, Shot};
use boros::op;
use boros::{BufRing, Cqe, OpKey};
use std::future::Future;
use std::io;
use std::os::fd::RawFd;
use std::rc::Rc;
use std::task::{Context, Poll};

/// Buffers in a connection's ring.
pub const RING_ENTRIES: u16 = 16;
/// Bytes per buffer where the kernel takes recv bundles (Linux 6.10). Small, so that the
/// buffers the kernel cycles through (each receive takes the next one in ring order) span few
/// pages: 64 connections x 16 x 4 KiB touched 1,024 pages in turn, and the kernel's copy into
/// them (`_copy_to_iter`) cost 2-3x what it costs into one reused buffer; at 1 KiB (256
/// pages), ~0.6x that. Bulk data does not pay for the small buffers: one CQE covers as many
/// buffers as the data fills.
pub const RING_BUF_SIZE: u32 = 1024;
/// Bytes per buffer without bundles (a CQE per buffer: bulk data wants them larger).
pub const RING_BUF_SIZE_NO_BUNDLES: u32 = 4096;

/// `IORING_CQE_F_BUFFER` and the shift of the buffer id in a CQE's flags.
const CQE_F_BUFFER: u32 = 1;
const CQE_BUFFER_SHIFT: u32 = 16;

enum Mode {
    /// No read yet.
    Idle,
    /// Reads come from the multishot op on this ring; `multi` is `None` while disarmed.
    Multi {
        ring: Rc<BufRing>,
        multi: Option<Multi>,
        core: Rc<Core>,
        /// The kernel takes recv bundles (`IORING_RECVSEND_BUNDLE`): one CQE, several buffers.
        bundle: bool,
    },
    /// The ring could not be set up: one recv op at a time, kept here across polls (so a
    /// dropped read future loses nothing here either).
    Single(Option<Op<op::Recv<Vec<u8>>>>),
}

/// The read side of a stream socket.
pub(crate) struct Reader {
    mode: Mode,
    /// Bytes of a chunk that did not fit the caller's buffer.
    leftover: Vec<u8>,
    taken: usize,
    /// End of stream (or an error) came after the data queued before it.
    eof: bool,
    error: Option<io::Error>,
}

impl Reader {
    pub(crate) fn new() -> Self {
        Self {
            mode: Mode::Idle,
            leftover: Vec::new(),
            taken: 0,
            eof: false,
            error: None,
        }
    }

    /// Sets the mode up on the first read.
    fn start(&mut self, what: &str) {
        if let Mode::Idle = self.mode {
            self.mode = with_current(what, |core| {
                let mut driver = core.driver.borrow_mut();
                let bundle = boros::net::recv_bundles(driver.info());
                let size = if bundle {
                    RING_BUF_SIZE
                } else {
                    RING_BUF_SIZE_NO_BUNDLES
                };
                match driver.register_buf_ring(RING_ENTRIES, size) {
                    Ok(ring) => Mode::Multi {
                        ring,
                        multi: None,
                        core: core.clone(),
                        bundle,
                    },
                    Err(_) => Mode::Single(None),
                }
            });
        }
    }

    /// Copies received bytes into `dst` (`*mut u8` + capacity: the caller's buffer), as
    /// many as one chunk gives. `Ready(Ok(0))` at end of stream (or when `cap` is 0).
    pub(crate) fn poll_read(
        &mut self,
        cx: &mut Context<'_>,
        fd: RawFd,
        dst: &mut [std::mem::MaybeUninit<u8>],
        what: &str,
    ) -> Poll<io::Result<usize>> {
        if dst.is_empty() {
            return Poll::Ready(Ok(0));
        }
        if self.taken < self.leftover.len() {
            let n = copy(&self.leftover[self.taken..], dst);
            self.taken += n;
            if self.taken == self.leftover.len() {
                self.leftover.clear();
                self.taken = 0;
            }
            return Poll::Ready(Ok(n));
        }
        if let Some(e) = self.error.take() {
            return Poll::Ready(Err(e));
        }
        if self.eof {
            return Poll::Ready(Ok(0));
        }
        self.start(what);
        let (ring, multi, bundle) = match &mut self.mode {
            Mode::Multi {
                ring,
                multi,
                bundle,
                ..
            } => (ring, multi, *bundle),
            Mode::Single(op) => return Self::poll_single(op, cx, fd, dst, what),
            Mode::Idle => unreachable!("set up by start"),
        };
        loop {
            if multi.is_none() {
                *multi = Some(Multi::submit_named(
                    op::RecvMulti::new(fd, ring.clone()).bundle(bundle),
                    what,
                )?);
            }
            let m = multi.as_mut().expect("armed above");
            let Poll::Ready(item) = m.poll_next(cx) else {
                return Poll::Pending;
            };
            let Some((result, flags)) = item else {
                // Ended with nothing more queued: re-arm.
                *multi = None;
                continue;
            };
            let step = multishot::step(result, flags);
            if step.last {
                *multi = None;
            }
            let result = match step.shot {
                Shot::Item(n) => n,
                Shot::End => {
                    self.eof = true;
                    return Poll::Ready(Ok(0));
                }
                // Our ring is full of chunks we already took (the data waits in the socket
                // meanwhile), or a cancel: re-arm.
                Shot::Rearm => {
                    *multi = None;
                    continue;
                }
                Shot::Error(e) if e == -libc::ECANCELED => {
                    *multi = None;
                    continue;
                }
                Shot::Error(e) => return Poll::Ready(Err(io::Error::from_raw_os_error(-e))),
            };
            let cqe = Cqe {
                token: 0,
                key: OpKey::from_u64(0),
                result,
                flags,
                cancelled: false,
                buffer: (flags & CQE_F_BUFFER != 0)
                    .then(|| (ring.bgid(), (flags >> CQE_BUFFER_SHIFT) as u16)),
            };
            if result as u32 <= ring.buf_size() {
                // One buffer (every CQE without bundles, a small one with).
                let Some(lease) = ring.lease(&cqe) else {
                    return Poll::Ready(Err(no_buffer()));
                };
                let n = copy(&lease, dst);
                if n < lease.len() {
                    self.leftover.extend_from_slice(&lease[n..]);
                    self.taken = 0;
                }
                drop(lease); // the buffer goes back to the kernel
                return Poll::Ready(Ok(n));
            }
            // A bundle: consecutive buffers, all full but the last; in order.
            let leases = ring.lease_bundle(&cqe);
            let got: usize = leases.iter().map(|l| l.len()).sum();
            if got != result as usize {
                return Poll::Ready(Err(no_buffer()));
            }
            let mut n = 0;
            for lease in &leases {
                let k = copy(lease, &mut dst[n..]);
                n += k;
                if k < lease.len() {
                    self.leftover.extend_from_slice(&lease[k..]);
                }
            }
            self.taken = 0;
            drop(leases); // the buffers go back to the kernel
            return Poll::Ready(Ok(n));
        }
    }
}

impl Reader {
    fn poll_single(
        slot: &mut Option<Op<op::Recv<Vec<u8>>>>,
        cx: &mut Context<'_>,
        fd: RawFd,
        dst: &mut [std::mem::MaybeUninit<u8>],
        what: &str,
    ) -> Poll<io::Result<usize>> {
        if slot.is_none() {
            let recv = op::Recv::new(fd, Vec::with_capacity(dst.len().min(64 * 1024)));
            *slot = Some(Op::submit_named(recv, what)?);
        }
        let done = match std::pin::Pin::new(slot.as_mut().expect("set above")).poll(cx) {
            Poll::Ready(done) => done,
            Poll::Pending => return Poll::Pending,
        };
        *slot = None;
        let n = done.result()?;
        let buf = done.op.into_buf(n);
        Poll::Ready(Ok(copy(&buf[..n as usize], dst)))
    }
}

fn no_buffer() -> io::Error {
    io::Error::other("boros-rt: a recv CQE named no buffer of its ring")
}

fn copy(src: &[u8], dst: &mut [std::mem::MaybeUninit<u8>]) -> usize {
    let n = src.len().min(dst.len());
    // SAFETY: both ranges are valid for n bytes and do not overlap (src is ours, dst the
    // caller's); MaybeUninit<u8> has u8's layout.
    unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), dst.as_mut_ptr().cast::<u8>(), n) };
    n
}

impl Drop for Reader {
    fn drop(&mut self) {
        if let Mode::Multi {
            ring, multi, core, ..
        } = &mut self.mode
        {
            // Cancels the op; the driver unregisters the group after its final CQE.
            drop(multi.take());
            core.driver.borrow_mut().unregister_buf_ring(ring);
        }
    }
}
