//! Chunk streams: a multishot read (Linux 6.7) into a provided buffer ring (5.19), for pipes,
//! FIFOs and other pollable descriptors. The TypeScript side is `src-ts/chunks.ts`.
//!
//! One stream per `chunksOpen`: a buffer group registered with this thread's ring and at
//! most one multishot read armed on it. Every CQE of that read is finished here, during the
//! reap, on the JS thread: the bytes are copied out of the ring buffer into a fresh `Vec`
//! (handed to JS as a Buffer later), and the ring buffer is recycled to the kernel at once.
//! JS memory is never lent to the kernel, so a transfer, a GC or a closed stream can never
//! meet a kernel write.
//!
//! Delivery to JS uses the ordinary one-shot tokens: when JS finds nothing queued it parks
//! a token (`chunksNext(id, token)` returns null), and the next CQE of that stream completes
//! that token. So no change to how the runtime hands (token, result) pairs to JS is needed.

use crate::js::{self, codes, Result};
use crate::ops::token;
use crate::runtime;
use boros::{op, BufRing, Completion, OpKey};
use napi::bindgen_prelude::{Buffer, Either};
use napi_derive::napi;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

/// Completion kind of a stream's multishot read (`token >> 32`); see `ops::token`.
pub const KIND: u64 = 0x40;

/// Largest buffer a stream may ask for.
const MAX_BUFFER_SIZE: u32 = 16 << 20;

struct Stream {
    fd: i32,
    ring: Rc<BufRing>,
    /// The armed multishot read, until its final CQE.
    key: Option<OpKey>,
    /// Chunks copied out of the ring, not yet taken by JS.
    queue: VecDeque<Vec<u8>>,
    /// How the last armed read ended, not yet reported to JS.
    ended: Option<i32>,
    /// The JS token to complete when the next CQE arrives.
    notify: Option<u32>,
    closed: bool,
}

thread_local! {
    static STREAMS: RefCell<Vec<Option<Stream>>> = const { RefCell::new(Vec::new()) };
}

fn with_stream<T>(id: u32, f: impl FnOnce(&mut Stream) -> Result<T>) -> Result<T> {
    STREAMS.with(|s| {
        let mut s = s.borrow_mut();
        match s.get_mut(id as usize).and_then(Option::as_mut) {
            Some(st) if !st.closed => f(st),
            _ => Err(js::error(
                codes::CLOSED,
                "boros: the chunk stream is closed",
            )),
        }
    })
}

/// Finishes one CQE of a stream's multishot read (called from the runtime's reap, on the JS
/// thread). Returns the parked JS token to complete, if any.
pub fn finish(c: Completion) -> Option<(u32, i32)> {
    let id = c.token as u32 as usize;
    STREAMS.with(|s| {
        let mut streams = s.borrow_mut();
        let st = streams.get_mut(id)?.as_mut()?;
        if let Some(lease) = st.ring.lease(&c) {
            if !st.closed {
                st.queue.push_back(lease.to_vec());
            }
            // The lease drops here: the buffer goes back to the kernel.
        }
        if c.is_final() {
            st.key = None;
            // A final CQE with data (the multishot stopped, e.g. CQ overflow) means "re-arm".
            st.ended = Some(if c.result > 0 {
                -libc::EAGAIN
            } else {
                c.result
            });
            if st.closed {
                let notify = st.notify.take();
                streams[id] = None;
                return notify.map(|t| (t, -libc::ECANCELED));
            }
        }
        st.notify.take().map(|t| (t, 0))
    })
}

/// Opens a chunk stream on `fd`: registers a group of `bufferCount` (a power of two up to
/// 32768) buffers of `bufferSize` bytes with this thread's ring. Returns the stream's id.
#[napi]
pub fn chunks_open(fd: i32, buffer_size: u32, buffer_count: u32) -> Result<u32> {
    if buffer_size == 0 || buffer_size > MAX_BUFFER_SIZE {
        return Err(js::error(codes::OUT_OF_RANGE, format!(
            "The value of \"bufferSize\" is out of range. It must be >= 1 && <= {MAX_BUFFER_SIZE}. Received {buffer_size}"
        )));
    }
    if buffer_count == 0 || buffer_count > 32768 || !buffer_count.is_power_of_two() {
        return Err(js::error(codes::OUT_OF_RANGE, format!(
            "The value of \"bufferCount\" is out of range. It must be a power of two from 1 to 32768. Received {buffer_count}"
        )));
    }
    let ring = runtime::with(|rt| {
        rt.driver
            .register_buf_ring(buffer_count as u16, buffer_size)
            .map_err(|e| {
                js::error(
                    codes::SUBMIT_FAILED,
                    format!("registering a buffer ring failed: {e}"),
                )
            })
    })?;
    let st = Stream {
        fd,
        ring,
        key: None,
        queue: VecDeque::new(),
        ended: None,
        notify: None,
        closed: false,
    };
    Ok(STREAMS.with(|s| {
        let mut s = s.borrow_mut();
        match s.iter().position(Option::is_none) {
            Some(i) => {
                s[i] = Some(st);
                i as u32
            }
            None => {
                s.push(Some(st));
                (s.len() - 1) as u32
            }
        }
    }))
}

/// Arms a multishot read on the stream (no-op while one is armed). Returns its key.
#[napi]
pub fn chunks_arm(id: u32) -> Result<f64> {
    let (fd, ring, armed) = with_stream(id, |st| Ok((st.fd, st.ring.clone(), st.key)))?;
    if let Some(k) = armed {
        return Ok(k.as_u64() as f64);
    }
    let key = runtime::with(|rt| {
        rt.driver
            .push(Box::new(op::ReadMulti::new(fd, ring)), token(KIND, id))
            .map_err(js::push_error)
    })?;
    with_stream(id, |st| {
        st.key = Some(key);
        st.ended = None;
        Ok(key.as_u64() as f64)
    })
}

/// The next thing the stream has for JS: a chunk (a fresh Buffer, owned by JS), or how the
/// armed read ended (`0` end of file, `-ENOBUFS`/`-EAGAIN` re-arm, `-errno`), or `null` when
/// nothing is there yet — then `token` is completed when the next CQE arrives.
#[napi]
pub fn chunks_next(id: u32, token_id: u32) -> Result<Option<Either<Buffer, i32>>> {
    with_stream(id, |st| {
        if let Some(chunk) = st.queue.pop_front() {
            return Ok(Some(Either::A(chunk.into())));
        }
        if let Some(r) = st.ended.take() {
            return Ok(Some(Either::B(r)));
        }
        if st.key.is_none() {
            return Err(js::error(
                codes::CLOSED,
                "boros: the chunk stream has no read armed",
            ));
        }
        st.notify = Some(token_id);
        Ok(None)
    })
}

/// Asks the kernel to cancel the stream's armed read (it ends with `-ECANCELED`).
#[napi]
pub fn chunks_cancel(id: u32) -> Result<bool> {
    let key = with_stream(id, |st| Ok(st.key))?;
    match key {
        Some(k) => runtime::with(|rt| rt.driver.cancel(k).map_err(js::push_error)),
        None => Ok(false),
    }
}

/// Closes the stream: cancels its armed read and unregisters its buffer group once that
/// read's final CQE is in (a parked token is then completed with `-ECANCELED`). Returns
/// whether a read was still armed.
#[napi]
pub fn chunks_close(id: u32) -> Result<bool> {
    let (key, ring) = with_stream(id, |st| {
        st.closed = true;
        st.queue.clear();
        Ok((st.key, st.ring.clone()))
    })?;
    let armed = runtime::with(|rt| {
        if let Some(k) = key {
            rt.driver.cancel(k).map_err(js::push_error)?;
        }
        rt.driver.unregister_buf_ring(&ring);
        Ok(key.is_some())
    });
    if !armed.as_ref().is_ok_and(|a| *a) {
        // Nothing in flight (or the runtime is gone): forget the stream now.
        STREAMS.with(|s| s.borrow_mut()[id as usize] = None);
    }
    armed
}
