//! Where the bytes of a batch's stream events go (received bytes, HTTP engine records): bounded
//! **segments**, each a Buffer V8 allocates itself (`napi_create_buffer`, the allocator
//! node:net's reads use), copied into straight from the provided buffer.
//!
//! Why (issue 21 "Scale and memory", issue 24 item 9): a round's bytes used to go into one
//! growing `Vec` handed to V8 as one external Buffer. At 1,000 busy 16 KiB connections that is
//! ~16 MiB per round, pinned whole by any one view of it, invisible to V8's young-generation
//! accounting (external memory only counts towards a full GC), and grown by doubling: peak RSS
//! 224–618 MiB against node:net's ~93. Here:
//! - a retained view pins one segment ([`SEGMENT`]), or its own exact-size buffer for a large
//!   receive ([`LARGE`]: an `ArrayBuffer` JS wraps, see [`Segments::place`]), never the round;
//! - V8 counts every segment as young-generation backing store and scavenges when those pass
//!   twice the semi-space: memory follows demand, as it does for node:net's read buffers;
//! - the segment being filled carries over from batch to batch, so a small-message round
//!   (one 64 B event) allocates nothing.
//!
//! Segments are listed in one JS array (kept across handle scopes by a reference) that goes to
//! JS with each delivery; an event names its segment by index (`wire::event::SEGMENT`). The
//! kernel never sees segment memory (bytes are copied out of its buffers), and a segment whose
//! `ArrayBuffer` JS detached (transferred) is never written again.

use napi::sys;
use std::ptr;

/// Bytes per segment: below glibc's initial mmap threshold (128 KiB), so a segment is heap
/// memory, not a fresh mapping that page-faults on every use.
const SEGMENT: usize = 64 * 1024;
/// A write of at least this many bytes gets its own exact-size Buffer (what libuv/node:net
/// does per read), so it pins nothing else and leaves the current segment for small writes.
const LARGE: usize = 8 * 1024;

/// A delivery that listed at most this many segments clears their entries one by one (see
/// [`Segments::delivered`]); more, and the table's length is set to 0.
const CLEAR_EACH: u32 = 8;

/// The segment being filled.
struct Current {
    /// Keeps the Buffer alive while we write into it.
    buffer: sys::napi_ref,
    data: *mut u8,
    cap: usize,
    used: usize,
    /// Its index in the table, once listed for the batch not yet delivered.
    index: Option<u32>,
}

/// The batch's segments.
pub(crate) struct Segments {
    env: sys::napi_env,
    /// The JS array listing the segments the undelivered events point into.
    table: sys::napi_ref,
    /// Entries of `table` in use.
    listed: u32,
    current: Option<Current>,
    /// Env teardown began: nothing is placed any more (the events are dropped anyway).
    closed: bool,
    /// Where [`JsBatch::event_with`](crate::complete::JsBatch::event_with) records are written
    /// before they are placed (their length is known only once written).
    pub(crate) scratch: Vec<u8>,
}

impl Segments {
    /// # Safety
    /// JS thread of `env`, inside a handle scope.
    pub(crate) unsafe fn new(env: sys::napi_env) -> Self {
        let mut table = ptr::null_mut();
        let mut r = ptr::null_mut();
        // SAFETY: per the contract.
        unsafe {
            sys::napi_create_array(env, &mut table);
            sys::napi_create_reference(env, table, 1, &mut r);
        }
        Self {
            env,
            table: r,
            listed: 0,
            current: None,
            closed: false,
            scratch: Vec::new(),
        }
    }

    /// The table to hand JS with a delivery.
    ///
    /// # Safety
    /// JS thread, inside a handle scope.
    pub(crate) unsafe fn table(&self) -> sys::napi_value {
        let mut v = ptr::null_mut();
        // SAFETY: per the contract; the reference is alive while `self` is.
        unsafe { sys::napi_get_reference_value(self.env, self.table, &mut v) };
        v
    }

    /// Every listed event was delivered: the table lets go of its segments (the current one
    /// stays ours, to fill on).
    ///
    /// # Safety
    /// JS thread, inside a handle scope.
    pub(crate) unsafe fn delivered(&mut self) {
        if self.listed == 0 {
            return;
        }
        let listed = std::mem::replace(&mut self.listed, 0);
        if let Some(c) = self.current.as_mut() {
            c.index = None;
        }
        // SAFETY: per the contract.
        unsafe {
            let table = self.table();
            if listed <= CLEAR_EACH {
                // A few entries: each set to `undefined` (an indexed store). Setting `length`
                // by name made V8 look the name up in its string table and truncate the
                // array, for every delivery: ~0.5 µs per message at one busy connection,
                // where every message is a delivery of its own (docs/net.md, "One connection
                // at 16 KiB"). The array keeps its length; JS reads only the entries the
                // batch's events name, and these hold nothing once cleared.
                let mut undefined = ptr::null_mut();
                sys::napi_get_undefined(self.env, &mut undefined);
                for i in 0..listed {
                    sys::napi_set_element(self.env, table, i, undefined);
                }
            } else {
                let mut zero = ptr::null_mut();
                sys::napi_create_uint32(self.env, 0, &mut zero);
                sys::napi_set_named_property(self.env, table, c"length".as_ptr(), zero);
            }
        }
    }

    /// Lists `buffer` in the table; returns its index.
    unsafe fn list(&mut self, buffer: sys::napi_value) -> u32 {
        let i = self.listed;
        // SAFETY: JS thread inside a handle scope (the callers' contract).
        unsafe { sys::napi_set_element(self.env, self.table(), i, buffer) };
        self.listed += 1;
        i
    }

    /// A new Buffer of `len` bytes V8 allocated (uninitialized, as `Buffer.allocUnsafe`).
    unsafe fn create(&mut self, len: usize) -> Option<(sys::napi_value, *mut u8)> {
        let mut value = ptr::null_mut();
        let mut data = ptr::null_mut();
        // SAFETY: JS thread inside a handle scope (the callers' contract).
        let status = unsafe { sys::napi_create_buffer(self.env, len, &mut data, &mut value) };
        (status == sys::Status::napi_ok && !data.is_null()).then_some((value, data.cast()))
    }

    /// A new `ArrayBuffer` of `len` bytes V8 allocated (zero-filled: N-API has no uninitialized
    /// ArrayBuffer), for a large receive: JS wraps it in a Buffer (`Buffer.from`, in
    /// `binding.ts` `onComplete`), as node:net's read path does with its `FastBuffer`.
    ///
    /// Not `napi_create_buffer`: Node builds that Buffer as a `Uint8Array` and then sets its
    /// prototype to `Buffer.prototype` from C++, a prototype change V8 13.6 (Node 24) makes
    /// expensive (its typed-array protector checks): 10 % of the server's main thread at one
    /// busy 16 KiB connection against 5 % on Node 20, and all of it before the JS callback
    /// (docs/net.md, "One connection: the wake-up, timed", tenth round).
    unsafe fn create_array_buffer(&mut self, len: usize) -> Option<(sys::napi_value, *mut u8)> {
        let mut value = ptr::null_mut();
        let mut data = ptr::null_mut();
        // SAFETY: JS thread inside a handle scope (the callers' contract).
        let status = unsafe { sys::napi_create_arraybuffer(self.env, len, &mut data, &mut value) };
        (status == sys::Status::napi_ok && !data.is_null()).then_some((value, data.cast()))
    }

    /// Room for `len` bytes starting `align`-aligned: `(segment index, offset, memory)`.
    /// `None` when V8 could not allocate (the caller reports `-ENOMEM`).
    ///
    /// # Safety
    /// JS thread, inside a handle scope. The memory is valid until the next call on `self`.
    pub(crate) unsafe fn place(
        &mut self,
        len: usize,
        align: usize,
    ) -> Option<(u32, u32, &mut [u8])> {
        if self.closed {
            return None;
        }
        if len >= LARGE {
            // SAFETY: per the contract.
            let (value, data) = unsafe { self.create_array_buffer(len)? };
            // SAFETY: as above.
            let index = unsafe { self.list(value) };
            // SAFETY: `data` is the new Buffer's `len` bytes; the table keeps it alive.
            return Some((index, 0, unsafe {
                std::slice::from_raw_parts_mut(data, len)
            }));
        }
        // SAFETY: per the contract.
        if unsafe { !self.current_fits(len, align) } {
            // SAFETY: as above.
            unsafe { self.start_segment()? };
        }
        let c = self.current.as_mut()?;
        let at = c.used.next_multiple_of(align);
        c.used = at + len;
        let (index, data) = (c.index?, c.data);
        // SAFETY: `at + len <= cap` (checked by `current_fits` or a fresh segment of
        // SEGMENT > len bytes); the reference keeps the Buffer alive and it is not detached.
        Some((index, at as u32, unsafe {
            std::slice::from_raw_parts_mut(data.add(at), len)
        }))
    }

    /// Whether the current segment takes `len` more bytes; lists it for this batch if so.
    unsafe fn current_fits(&mut self, len: usize, align: usize) -> bool {
        let env = self.env;
        let Some(c) = self.current.as_ref() else {
            return false;
        };
        if c.used.next_multiple_of(align) + len > c.cap {
            return false;
        }
        if c.index.is_some() {
            return true;
        }
        // First use in this batch: JS had the Buffer since the last one, and may have
        // detached its ArrayBuffer (a transfer): then the memory is no longer ours to write.
        let mut value = ptr::null_mut();
        let mut data = ptr::null_mut();
        let mut length = 0usize;
        // SAFETY: JS thread inside a handle scope; the reference is alive.
        let intact = unsafe {
            sys::napi_get_reference_value(env, c.buffer, &mut value);
            sys::napi_get_buffer_info(env, value, &mut data, &mut length) == sys::Status::napi_ok
        } && data.cast() == c.data
            && length == c.cap;
        if !intact {
            return false;
        }
        // SAFETY: as above.
        let index = unsafe { self.list(value) };
        if let Some(c) = self.current.as_mut() {
            c.index = Some(index);
        }
        true
    }

    /// Replaces the current segment with a new one, listed for this batch.
    unsafe fn start_segment(&mut self) -> Option<()> {
        // SAFETY: JS thread inside a handle scope (the callers' contract).
        unsafe { self.drop_current() };
        // SAFETY: as above.
        let (value, data) = unsafe { self.create(SEGMENT)? };
        let mut buffer = ptr::null_mut();
        // SAFETY: as above.
        unsafe { sys::napi_create_reference(self.env, value, 1, &mut buffer) };
        // SAFETY: as above.
        let index = unsafe { self.list(value) };
        self.current = Some(Current {
            buffer,
            data,
            cap: SEGMENT,
            used: 0,
            index: Some(index),
        });
        Some(())
    }

    /// Lets go of the current segment (JS views of it keep it alive as long as they live).
    ///
    /// # Safety
    /// JS thread of the env (teardown included).
    pub(crate) unsafe fn drop_current(&mut self) {
        if let Some(c) = self.current.take() {
            // SAFETY: the reference belongs to this env and is deleted once.
            unsafe { sys::napi_delete_reference(self.env, c.buffer) };
        }
    }

    /// Env teardown began: places nothing from now on, and lets go of the current segment.
    ///
    /// # Safety
    /// JS thread of the env.
    pub(crate) unsafe fn close(&mut self) {
        self.closed = true;
        // SAFETY: per the contract.
        unsafe { self.drop_current() };
    }

    /// Teardown: releases the references.
    ///
    /// # Safety
    /// JS thread of the env, once.
    pub(crate) unsafe fn release(&mut self) {
        // SAFETY: per the contract.
        unsafe {
            self.drop_current();
            sys::napi_delete_reference(self.env, self.table);
        }
    }
}
