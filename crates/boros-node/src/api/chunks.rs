//! Chunk streams' exported calls (the op and its state: [`crate::ops::ChunkRead`]).

use crate::js::{self, codes, Result};
use crate::ops::{ChunkRead, ChunkStream};
use crate::runtime;
use napi::bindgen_prelude::{Buffer, Either};
use napi_derive::napi;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

/// Largest buffer a stream may ask for.
use crate::wire::{CHUNK_MAX_BUFFERS, CHUNK_MAX_BUFFER_SIZE as MAX_BUFFER_SIZE};

thread_local! {
    /// This thread's streams by id. A closed stream's entry is reused once its read ended.
    static STREAMS: RefCell<Vec<Rc<RefCell<ChunkStream>>>> = const { RefCell::new(Vec::new()) };
}

fn stream(id: u32) -> Result<Rc<RefCell<ChunkStream>>> {
    STREAMS.with(|s| {
        s.borrow()
            .get(id as usize)
            .filter(|st| !st.borrow().closed)
            .cloned()
            .ok_or_else(|| js::error(codes::CLOSED, "boros: the chunk stream is closed"))
    })
}

/// Opens a chunk stream on `fd`: registers a group of `bufferCount` (a power of two up to
/// 32768) buffers of `bufferSize` bytes with this thread's ring. Returns the stream's id.
#[napi]
pub fn chunks_open(fd: i32, buffer_size: u32, buffer_count: u32) -> Result<u32> {
    let fd = crate::args::fd(fd)?;
    if buffer_size == 0 || buffer_size > MAX_BUFFER_SIZE {
        return Err(js::error(codes::OUT_OF_RANGE, format!(
            "The value of \"bufferSize\" is out of range. It must be >= 1 && <= {MAX_BUFFER_SIZE}. Received {buffer_size}"
        )));
    }
    if buffer_count == 0 || buffer_count > CHUNK_MAX_BUFFERS || !buffer_count.is_power_of_two() {
        return Err(js::error(codes::OUT_OF_RANGE, format!(
            "The value of \"bufferCount\" is out of range. It must be a power of two from 1 to {CHUNK_MAX_BUFFERS}. Received {buffer_count}"
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
    let st = Rc::new(RefCell::new(ChunkStream {
        fd,
        ring,
        armed: None,
        queue: VecDeque::new(),
        ended: None,
        notify: None,
        closed: false,
    }));
    Ok(STREAMS.with(|s| {
        let mut s = s.borrow_mut();
        let free = s.iter().position(|old| {
            let o = old.borrow();
            o.closed && o.armed.is_none()
        });
        match free {
            Some(i) => {
                s[i] = st;
                i as u32
            }
            None => {
                s.push(st);
                (s.len() - 1) as u32
            }
        }
    }))
}

/// Arms a multishot read on the stream (no-op while one is armed). Returns its key.
#[napi]
pub fn chunks_arm(id: u32) -> Result<f64> {
    let st = stream(id)?;
    if let Some(k) = st.borrow().armed {
        return Ok(k.as_u64() as f64);
    }
    let key = runtime::with(|rt| {
        rt.driver
            .push(ChunkRead::new(&st), 0)
            .map_err(js::push_error)
    })?;
    let mut s = st.borrow_mut();
    s.armed = Some(key);
    s.ended = None;
    Ok(key.as_u64() as f64)
}

/// The next thing the stream has for JS: a chunk (a fresh Buffer, owned by JS), or how the
/// armed read ended (`0` end of file, `-ENOBUFS`/`-EAGAIN` re-arm, `-errno`), or `null` when
/// nothing is there yet — then `token` is settled when the next CQE arrives.
#[napi]
pub fn chunks_next(id: u32, token: u32) -> Result<Option<Either<Buffer, i32>>> {
    let st = stream(id)?;
    let mut st = st.borrow_mut();
    if let Some(chunk) = st.queue.pop_front() {
        return Ok(Some(Either::A(chunk.into())));
    }
    if let Some(r) = st.ended.take() {
        return Ok(Some(Either::B(r)));
    }
    if st.armed.is_none() {
        return Err(js::error(
            codes::CLOSED,
            "boros: the chunk stream has no read armed",
        ));
    }
    st.notify = Some(token);
    Ok(None)
}

/// Asks the kernel to cancel the stream's armed read (it ends with `-ECANCELED`).
#[napi]
pub fn chunks_cancel(id: u32) -> Result<bool> {
    let key = stream(id)?.borrow().armed;
    match key {
        Some(k) => runtime::with(|rt| rt.driver.cancel(k).map_err(js::push_error)),
        None => Ok(false),
    }
}

/// Closes the stream: cancels its armed read and unregisters its buffer group once that
/// read's final CQE is in (a parked token is then settled with `-ECANCELED`). Returns
/// whether a read was still armed.
#[napi]
pub fn chunks_close(id: u32) -> Result<bool> {
    let st = stream(id)?;
    let (key, ring) = {
        let mut s = st.borrow_mut();
        s.closed = true;
        s.queue.clear();
        (s.armed, Rc::clone(&s.ring))
    };
    runtime::with(|rt| {
        if let Some(k) = key {
            rt.driver.cancel(k).map_err(js::push_error)?;
        }
        rt.driver.unregister_buf_ring(&ring);
        Ok(key.is_some())
    })
}
