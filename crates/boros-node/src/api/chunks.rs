//! Chunk streams' exported calls (the op and its state: [`crate::ops::ChunkRead`]).

use crate::js::{self, codes, Result};
use crate::ops::{ChunkRead, ChunkStream};
use crate::runtime;
use napi_derive::napi;
use std::cell::Cell;
use std::rc::Rc;

use crate::wire::{CHUNK_MAX_BUFFERS, CHUNK_MAX_BUFFER_SIZE as MAX_BUFFER_SIZE};

/// The runtime's open stream `id` (the runtime owns the streams:
/// [`Runtime::chunk_streams`](runtime::Runtime::chunk_streams)).
fn stream(id: u32) -> Result<Rc<ChunkStream>> {
    runtime::with(|rt| {
        rt.chunk_streams
            .get(id as usize)
            .filter(|st| !st.closed.get())
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
    runtime::with(|rt| {
        let ring = rt
            .driver
            .register_buf_ring(buffer_count as u16, buffer_size)
            .map_err(|e| {
                js::error(
                    codes::SUBMIT_FAILED,
                    format!("registering a buffer ring failed: {e}"),
                )
            })?;
        let st = Rc::new(ChunkStream {
            fd,
            ring,
            armed: Cell::new(None),
            closed: Cell::new(false),
        });
        let s = &mut rt.chunk_streams;
        let free = s
            .iter()
            .position(|old| old.closed.get() && old.armed.get().is_none());
        Ok(match free {
            Some(i) => {
                s[i] = st;
                i as u32
            }
            None => {
                s.push(st);
                (s.len() - 1) as u32
            }
        })
    })
}

/// Arms a multishot read on the stream (no-op while one is armed); its CQEs reach JS as
/// events of the façade's stream `events` (`wire::event`: bytes, `0` at end of file,
/// `EVENT_REARM`, `-errno`). Returns its key.
#[napi]
pub fn chunks_arm(id: u32, events: u32) -> Result<f64> {
    let st = stream(id)?;
    if let Some(k) = st.armed.get() {
        return Ok(k.as_u64() as f64);
    }
    let key = runtime::with(|rt| {
        rt.driver
            .push(ChunkRead::new(&st, events), 0)
            .map_err(js::push_error)
    })?;
    st.armed.set(Some(key));
    Ok(key.as_u64() as f64)
}

/// Asks the kernel to cancel the stream's armed read (it ends with `-ECANCELED`).
#[napi]
pub fn chunks_cancel(id: u32) -> Result<bool> {
    match stream(id)?.armed.get() {
        Some(k) => runtime::with(|rt| rt.driver.cancel(k).map_err(js::push_error)),
        None => Ok(false),
    }
}

/// Closes the stream: cancels its armed read and unregisters its buffer group once that
/// read's final CQE is in (its last event is then `-ECANCELED`). Returns whether a read was
/// still armed.
#[napi]
pub fn chunks_close(id: u32) -> Result<bool> {
    let st = stream(id)?;
    st.closed.set(true);
    let key = st.armed.get();
    runtime::with(|rt| {
        if let Some(k) = key {
            rt.driver.cancel(k).map_err(js::push_error)?;
        }
        rt.driver.unregister_buf_ring(&st.ring);
        Ok(key.is_some())
    })
}
