//! The one receive a thread takes by readiness, as libuv does (issue 21, fourteenth round).
//!
//! A ring receive reaches a thread asleep in libuv's `epoll_pwait` the long way round: the
//! socket's wake-up queues the receive as task work (`COOP_TASKRUN`), `epoll_pwait` ends with
//! `EINTR`, the task work runs on the way out and posts the CQE, libuv calls `epoll_pwait` again
//! to find the ring fd, and the poll callback reaps (docs/net.md, "One connection: the wake-up,
//! timed"). Where many sockets are busy, that is one wake-up for a batch of them, which is what
//! the ring is for. Where one connection is busy (a service's one connection to its database,
//! a request/response client, the echo bench's one-connection rows) it is every message's
//! latency, and node:net's `epoll_pwait` → `read(2)` is shorter.
//!
//! So each thread has one **readiness slot**. The first receive armed while it is free takes
//! it: libuv polls that socket itself (a `uv_poll`), and the callback ([`on_readable`])
//! `recv(2)`s what is there as node:net's `uv__read` does (until a short read, at most 32
//! reads) and hands it on as the very events a ring receive makes (`JsBatch::event_bytes`, then
//! the end or `-errno`), delivered by the same round as the ring's (`on_poll`). Every other
//! receive, and the HTTP engine's connections, stay on the ring. The slot is free again when its
//! receive ends (end of stream, an error, a cancel: a pause or a close).
//!
//! Its receive answers to keys no ring op has ([`ReadinessKey`]: the slab index `u32::MAX`, a
//! generation per arming, so a stale key never reaches the next receive in the slot): `cancel`
//! ends it at once (the `-ECANCELED` event comes with the next delivery, as a ring receive's
//! last event does), `setOpRef` refs or unrefs its handle, and a close or `cancelFd` of its
//! descriptor ends it first (libuv must stop watching a number before it is closed and
//! reused). `BOROS_NET_READINESS=0` turns the slot off (every receive on the ring), for
//! comparison.

use super::{on_poll, Runtime, RuntimeCell};
use crate::uv::{self, Handle};
use napi::sys;
use std::ffi::c_int;
use std::ptr;

/// `recv(2)`s per callback at most (libuv's `uv__read` makes up to 32 reads per wake-up).
const READS_PER_WAKEUP: usize = 32;
/// Bytes per `recv(2)` (libuv's suggested read size for a stream).
const READ_SIZE: usize = 64 * 1024;

/// The key of the slot's receive: slab index `u32::MAX`, which the driver's slab never reaches
/// (its entries are the ops in flight), and a generation per arming, below 2^20 so that the
/// key stays exact as a JS number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ReadinessKey(u64);

impl ReadinessKey {
    const INDEX: u64 = u32::MAX as u64;
    const GENERATIONS: u64 = 1 << 20;

    fn nth(generation: u64) -> Self {
        Self(((generation % Self::GENERATIONS) << 32) | Self::INDEX)
    }

    /// Whether `key` is one of the slot's (current or stale).
    pub(crate) fn is_one(key: u64) -> bool {
        key & 0xFFFF_FFFF == Self::INDEX
    }

    fn as_f64(self) -> f64 {
        self.0 as f64
    }
}

/// The receive in the slot.
pub(super) struct Readiness {
    fd: i32,
    stream: u32,
    key: ReadinessKey,
    /// The uv_poll on `fd` (made for this receive; closed when it ends, `on_closed` frees it).
    handle: *mut Handle,
}

/// The slot, and what it keeps between receives.
#[derive(Default)]
pub(super) struct Slot {
    current: Option<Readiness>,
    armed: u64,
    /// The `recv(2)` buffer, made at the first use (one per thread).
    buf: Vec<u8>,
    /// `recv(2)`s that brought bytes, for `stats()`.
    reads: u64,
}

fn enabled() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var("BOROS_NET_READINESS").map_or(true, |v| v != "0"))
}

impl Runtime {
    /// `recv(2)`s of the readiness slot that brought bytes, since the runtime began.
    pub(crate) fn readiness_reads(&self) -> u64 {
        self.readiness.reads
    }

    /// Arms the receive of connected socket `fd` (events of `stream`) in the readiness slot if
    /// it is free; returns its key, or `None` (then it goes on the ring).
    pub(crate) fn readiness_start(&mut self, fd: i32, stream: u32) -> Option<f64> {
        if self.closing || self.readiness.current.is_some() || !enabled() {
            return None;
        }
        let cell = super::CURRENT.with(std::cell::Cell::get);
        let handle = uv::alloc_handle(self.uv, uv::UV_POLL, cell as *mut _);
        // SAFETY: a fresh handle of libuv's size, this env's loop (we are on its thread).
        if unsafe { (self.uv.poll_init)(self.uv_loop, handle, fd) } != 0 {
            // SAFETY: libuv refused the handle (a descriptor it cannot poll) and holds nothing
            // of it: the memory is ours to free.
            unsafe { libc::free(handle) };
            return None;
        }
        // SAFETY: the handle was initialized above.
        if unsafe { (self.uv.poll_start)(handle, uv::UV_READABLE, on_readable) } != 0 {
            // SAFETY: initialized, so closed through libuv (freed in `on_closed`).
            unsafe { self.forget_handle(handle) };
            return None;
        }
        let key = ReadinessKey::nth(self.readiness.armed);
        self.readiness.armed += 1;
        self.readiness.current = Some(Readiness {
            fd,
            stream,
            key,
            handle,
        });
        Some(key.as_f64())
    }

    /// `cancel` of a slot key: ends the slot's receive if `key` is its (its `-ECANCELED` event
    /// comes with the next delivery). Returns false for a stale key.
    pub(crate) fn readiness_cancel(&mut self, key: u64) -> bool {
        match &self.readiness.current {
            Some(r) if r.key.0 == key => {
                self.readiness_end(-libc::ECANCELED);
                true
            }
            _ => false,
        }
    }

    /// Ends the slot's receive if it is on `fd` (a close or `cancelFd` of the descriptor).
    pub(crate) fn readiness_forget_fd(&mut self, fd: i32) {
        if self.readiness.current.as_ref().is_some_and(|r| r.fd == fd) {
            self.readiness_end(-libc::ECANCELED);
        }
    }

    /// `setOpRef` of a slot key; false for a stale key.
    pub(crate) fn readiness_set_ref(&mut self, key: u64, referenced: bool) -> bool {
        match &self.readiness.current {
            Some(r) if r.key.0 == key => {
                // SAFETY: the slot's handle is open while it is in the slot.
                unsafe {
                    if referenced {
                        (self.uv.r#ref)(r.handle)
                    } else {
                        (self.uv.unref)(r.handle)
                    }
                };
                true
            }
            _ => false,
        }
    }

    /// Frees the slot: stops polling (libuv forgets the descriptor now, before any close of it
    /// is queued), closes the handle, and reports `last` (0, `-errno`) as the receive's last
    /// event unless the runtime is going away (no JS to tell). The poll callback is woken for
    /// it (`signal`), except from the slot's own callback, which delivers right after.
    pub(super) fn readiness_end(&mut self, last: i32) {
        if self.readiness_end_quietly(last) {
            self.signal();
        }
    }

    /// [`readiness_end`](Self::readiness_end) without waking the poll callback; returns whether
    /// an event was left for it.
    fn readiness_end_quietly(&mut self, last: i32) -> bool {
        let Some(r) = self.readiness.current.take() else {
            return false;
        };
        // SAFETY: the handle is open (it leaves the slot only here).
        unsafe { self.forget_handle(r.handle) };
        if self.closing {
            return false;
        }
        self.events.push([r.stream as i32, last, 0, 0]);
        true
    }

    /// Stops and closes a readiness handle; libuv frees it through `on_closed`.
    ///
    /// # Safety
    /// `h` came from `alloc_handle`, was initialized by `uv_poll_init` and is not closed yet.
    unsafe fn forget_handle(&mut self, h: *mut Handle) {
        // SAFETY: per the contract. `uv_poll_stop` takes the descriptor out of libuv's epoll
        // now (`epoll_ctl(DEL)`), not at the close callback.
        unsafe {
            (self.uv.poll_stop)(h);
            (self.uv.close)(h, on_closed);
        }
    }
}

unsafe extern "C" fn on_closed(h: *mut Handle) {
    // SAFETY: made by `alloc_handle` (calloc) and closed: libuv is done with it.
    unsafe { libc::free(h) };
}

/// The slot's socket is readable: receive and deliver, one `recv(2)` at a time, as libuv's
/// `uv__read` calls node:net's read callback after each read. A full read (64 KiB) is followed
/// by another only if the receive is still in the slot after JS had the bytes: a reader that
/// paused (its buffer past `highWaterMark`) stops the reads there, as node:net's `readStop`
/// does, so a paused socket holds at most one read beyond its buffer's mark.
unsafe extern "C" fn on_readable(h: *mut Handle, status: c_int, _events: c_int) {
    // SAFETY: the handle's data is the runtime cell, which outlives it: the slot is emptied
    // (and the handle closed) at the latest in teardown's first step, before the cell can go.
    let cell = unsafe { &*(uv::handle_data(h) as *const RuntimeCell) };
    for _ in 0..READS_PER_WAKEUP {
        let (poll, more) = {
            let Ok(mut rt) = cell.try_borrow_mut() else {
                return;
            };
            if rt.closing || rt.readiness.current.as_ref().is_none_or(|r| r.handle != h) {
                return;
            }
            let mut scope = ptr::null_mut();
            // SAFETY: the env's thread, in a libuv callback, outside any scope (placing the
            // bytes may make a V8 Buffer); closed below.
            unsafe { sys::napi_open_handle_scope(rt.env, &mut scope) };
            let read = receive(&mut rt, status < 0);
            // SAFETY: closes the scope opened above.
            unsafe { sys::napi_close_handle_scope(rt.env, scope) };
            let more = match read {
                Read::Full => true,
                Read::Short => false,
                Read::Last(last) => {
                    // Delivered by the `on_poll` below.
                    rt.readiness_end_quietly(last);
                    false
                }
            };
            (rt.poll, more)
        };
        // SAFETY: the runtime is not borrowed; `poll` is the runtime's own poll handle, whose
        // callback delivers the events just placed (and whatever the ring has).
        unsafe { on_poll(poll, 0, 0) };
        if !more {
            return;
        }
    }
    // Reads left for the next wake-up. After `POLLERR` libuv stopped the handle: start it again,
    // so that the rest and the error are still read.
    if status < 0 {
        if let Ok(rt) = cell.try_borrow() {
            if rt.readiness.current.as_ref().is_some_and(|r| r.handle == h) {
                // SAFETY: the slot's handle is open.
                unsafe { (rt.uv.poll_start)(h, uv::UV_READABLE, on_readable) };
            }
        }
    }
}

/// What one `recv(2)` of the slot's socket did.
enum Read {
    /// A full buffer: more may be waiting.
    Full,
    /// Fewer bytes than asked, or none yet (`EAGAIN`): the socket is drained.
    Short,
    /// The receive ended: 0 at end of stream, or `-errno`.
    Last(i32),
}

/// One `recv(2)` of the slot's socket, its bytes placed as a stream event. `polled_error`: libuv
/// reported `POLLERR` (as `UV_EBADF`, and stopped the handle): the socket's own error is the
/// receive's end, read from `recv(2)` as node:net's read would see it, or from `SO_ERROR`.
fn receive(rt: &mut Runtime, polled_error: bool) -> Read {
    let Some((fd, stream)) = rt.readiness.current.as_ref().map(|r| (r.fd, r.stream)) else {
        return Read::Short;
    };
    let mut buf = std::mem::take(&mut rt.readiness.buf);
    if buf.is_empty() {
        buf = vec![0; READ_SIZE];
    }
    let read = loop {
        // SAFETY: `buf` is ours and `READ_SIZE` long; `MSG_DONTWAIT`, so a socket left
        // blocking never blocks the loop.
        let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT) };
        if n > 0 {
            rt.readiness.reads += 1;
            rt.batch().event_bytes(stream, &buf[..n as usize]);
            // After `POLLERR` libuv has stopped polling: read on to the error.
            break if polled_error || n as usize == buf.len() {
                Read::Full
            } else {
                Read::Short
            };
        }
        if n == 0 {
            break Read::Last(0);
        }
        break match std::io::Error::last_os_error().raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EAGAIN) if polled_error => Read::Last(-socket_error(fd)),
            Some(libc::EAGAIN) => Read::Short,
            Some(e) => Read::Last(-e),
            None => Read::Last(-libc::EIO),
        };
    };
    rt.readiness.buf = buf;
    read
}

/// The socket's pending error (`SO_ERROR`), or `EIO` if it has none to tell.
fn socket_error(fd: i32) -> i32 {
    match boros::net::getsockopt_int(fd, libc::SOL_SOCKET, libc::SO_ERROR) {
        Ok(e) if e > 0 => e,
        _ => libc::EIO,
    }
}
