//! Sending on a connected socket: at once when the socket takes it (`trySend`/`trySendv`, plain
//! non-blocking `send(2)`/`sendmsg(2)`, as libuv's `uv_try_write`), else as io_uring sends that
//! hold the JS Buffers until their CQE (`send`/`sendv`). The façade side is
//! `src-ts/net/connection.ts`; see docs/net.md "Writing".

use crate::args;
use crate::js::{self, JsBuf, Result};
use crate::ops::Passthrough;
use crate::runtime;
use boros::op;
use napi::bindgen_prelude::*;
use napi_derive::napi;

/// `send(2)` of `buffer` on socket `fd` at once, never waiting (`MSG_DONTWAIT`, and
/// `MSG_NOSIGNAL`: a closed peer is `-EPIPE`, not SIGPIPE): the bytes the kernel took, or
/// `-errno` (`-EAGAIN`: the socket buffer is full). libuv's `uv_try_write`: a write that fits
/// is done before `write()` returns, so nothing holds its Buffer past this call (a queued
/// send holds it, and the write's bookkeeping, until a later round reaps its CQE: at 1,000
/// busy connections those outlived scavenges and were promoted). Nothing is lent to the kernel.
#[napi]
pub fn try_send(
    env: Env,
    fd: i32,
    #[napi(ts_arg_type = "ArrayBufferView")] buffer: Unknown,
) -> Result<i32> {
    let fd = args::fd(fd)?;
    // SAFETY: `buffer` is an argument of this call, on the JS thread.
    let (ptr, len) = unsafe { js::view_info(env.raw(), buffer.raw())? };
    // SAFETY: `ptr..ptr+len` is the view's memory, alive for this call (the argument keeps it);
    // send only reads it, and returns before this function does.
    let n = unsafe { libc::send(fd, ptr.cast(), len, libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL) };
    Ok(sent_or_errno(n))
}

/// As [`try_send`], for several buffers in order (one `sendmsg(2)`; at most `IOV_MAX`).
#[napi]
pub fn try_sendv(
    env: Env,
    fd: i32,
    #[napi(ts_arg_type = "ArrayBufferView[]")] buffers: Vec<Unknown>,
) -> Result<i32> {
    let fd = args::fd(fd)?;
    let iov = buffers
        .iter()
        .map(|b| {
            // SAFETY: every element is a value of this call's arguments, on the JS thread.
            unsafe { js::view_info(env.raw(), b.raw()) }.map(|(ptr, len)| libc::iovec {
                iov_base: ptr.cast(),
                iov_len: len,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    // SAFETY: an all-zero msghdr is valid (no name, no control data).
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = iov.as_ptr().cast_mut();
    msg.msg_iovlen = iov.len();
    // SAFETY: `iov` lives until sendmsg returns and names the views' memory, which the
    // arguments keep alive for this call; sendmsg only reads it.
    let n = unsafe { libc::sendmsg(fd, &msg, libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL) };
    Ok(sent_or_errno(n))
}

/// A send's return: the count, or `-errno`.
fn sent_or_errno(n: isize) -> i32 {
    if n < 0 {
        -std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO)
    } else {
        n as i32
    }
}

/// Queues a send of all of `buffer` on socket `fd` (held, not copied, until it completes);
/// completes with the bytes sent (maybe fewer: send the rest) or `-errno`.
#[napi]
pub fn send(
    env: Env,
    fd: i32,
    #[napi(ts_arg_type = "ArrayBufferView")] buffer: Unknown,
    token: u32,
) -> Result<f64> {
    let fd = args::fd(fd)?;
    // SAFETY: `buffer` is an argument of this call, on the JS thread.
    let buf = unsafe { JsBuf::new(env.raw(), buffer.raw())? };
    runtime::with(|rt| rt.queue(Passthrough::new(op::Send::new(fd, buf), token)))
}

/// Queues one `sendmsg` of `buffers`, in order, on socket `fd` (each held until it completes);
/// completes with the bytes sent or `-errno`.
#[napi]
pub fn sendv(
    env: Env,
    fd: i32,
    #[napi(ts_arg_type = "ArrayBufferView[]")] buffers: Vec<Unknown>,
    token: u32,
) -> Result<f64> {
    let fd = args::fd(fd)?;
    let bufs = buffers
        .iter()
        // SAFETY: every element is a value of this call's arguments, on the JS thread.
        .map(|b| unsafe { JsBuf::new(env.raw(), b.raw()) })
        .collect::<Result<Vec<_>>>()?;
    runtime::with(|rt| rt.queue(Passthrough::new(op::SendMsg::new(fd, bufs), token)))
}
