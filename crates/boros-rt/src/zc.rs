//! Zero-copy send (`IORING_OP_SEND_ZC`, Linux 6.0): the kernel sends straight from the
//! caller's buffer, and posts two CQEs: the result, then a notification once it no longer
//! reads the buffer. The future resolves after the notification, with the count and the
//! buffer back.

use crate::buf::IoBuf;
use crate::op::Multi;
use boros::io_uring::{cqueue, squeue::Entry};
use boros::op::{self, OpCode};
use std::cell::RefCell;
use std::io;
use std::os::fd::RawFd;
use std::rc::Rc;

/// The core's `SendZc`, handing its buffer to `back` when the driver drops it (after the
/// notification, the final CQE), so the future gets it back.
struct ZcOp<B: IoBuf> {
    inner: Option<op::SendZc<B>>,
    back: Rc<RefCell<Option<B>>>,
}

// SAFETY: delegates to the core's `SendZc`, which owns the buffer it points the kernel at;
// `inner` stays in place (in the driver's box) until the final CQE, and is only taken in
// `drop`, after it.
unsafe impl<B: IoBuf> OpCode for ZcOp<B> {
    fn entry(&mut self) -> Entry {
        self.inner.as_mut().expect("taken only in drop").entry()
    }
}

impl<B: IoBuf> Drop for ZcOp<B> {
    fn drop(&mut self) {
        if let Some(op) = self.inner.take() {
            *self.back.borrow_mut() = Some(op.into_buf());
        }
    }
}

/// Sends `buf` with `SEND_ZC`; see the module docs.
pub(crate) async fn send_zc<B: IoBuf>(
    fd: RawFd,
    buf: B,
    what: &str,
) -> (io::Result<usize>, Option<B>) {
    let back = Rc::new(RefCell::new(None));
    let op = ZcOp {
        inner: Some(op::SendZc::new(fd, buf)),
        back: back.clone(),
    };
    let mut multi = match Multi::submit_named(op, what) {
        Ok(m) => m,
        Err(e) => {
            let buf = back.borrow_mut().take();
            return (Err(e), buf);
        }
    };
    let mut result = None;
    while let Some((res, flags)) = std::future::poll_fn(|cx| multi.poll_next(cx)).await {
        if !op::SendZc::<B>::is_notification(flags) {
            result = Some(res);
        }
        if !cqueue::more(flags) {
            // The final CQE: the notification, or a lone result when the kernel failed the
            // send before setting one up.
            break;
        }
    }
    drop(multi);
    let r = match result {
        Some(res) => boros::error::cqe_result(res).map(|n| n as usize),
        None => Err(io::Error::other("SEND_ZC ended without a result")),
    };
    let buf = back.borrow_mut().take();
    (r, buf)
}
