//! Registered buffer pools (`BufferPool` in JS): native-owned memory, registered with this
//! thread's ring, lent to JS as Buffers without copying, and read into / written from by
//! `READ_FIXED` / `WRITE_FIXED` with no bounce copy.
//!
//! # Who keeps the memory alive
//! The memory is one anonymous `mmap` ([`PoolMem`]), reference counted (`Rc`). Holders:
//! - the JS `BufferPool` (until `dispose()`),
//! - every JS Buffer over it: each is an *external* Buffer whose finalizer drops one `Rc`
//!   (Node runs napi finalizers on the JS thread; at env teardown it runs them itself),
//! - every op in flight on it: the op owns a [`Slice`], which holds an `Rc`, and the driver
//!   keeps the op until its final CQE — also after a cancel, a close, or during teardown.
//!
//! The mapping is unmapped only when the last holder is gone, so the kernel can never write
//! into memory that was freed or reused. Detaching or transferring one of the JS Buffers does
//! not free anything either: Node never detaches external Buffers (a transfer copies them on
//! Node 20 and throws `DataCloneError` on 22+), and our finalizer runs only when one dies.
//! Registration slots are emptied when the pool is disposed or its memory dropped; the kernel
//! itself keeps the pages pinned until the last request using them completed.

use crate::args::{self, target};
use crate::js::{self, codes, Result};
use crate::ops::{token, KIND_PLAIN};
use crate::runtime;
use boros::buf::{IoBuf, IoBufMut};
use boros::op;
use napi::bindgen_prelude::*;
use napi::sys;
use napi_derive::napi;
use std::cell::{Cell, RefCell};
use std::ffi::c_void;
use std::ptr;
use std::rc::Rc;

thread_local! {
    /// Buffer-table ranges whose memory was dropped while the runtime was borrowed (inside a
    /// reap): emptied at the next pool call.
    static DEFERRED: RefCell<Vec<(u16, usize)>> = const { RefCell::new(Vec::new()) };
    /// This thread's live pools by id, for ops the façade queues in shared memory (which
    /// names a pool by number). Weak: the registry keeps no memory alive.
    static POOLS: RefCell<std::collections::HashMap<u32, std::rc::Weak<PoolMem>>> =
        RefCell::new(std::collections::HashMap::new());
    static NEXT_ID: Cell<u32> = const { Cell::new(1) };
}

/// A range of buffer `index` of the live (not disposed) pool `id`, for an op queued in shared
/// memory; `None` when there is no such pool or the range is out of bounds.
///
/// A pool collected without `dispose()` keeps its entry while its memory lives (a queued op's
/// Buffer holds it), so an op queued just before the collection still finds it; entries of
/// memory that is gone are pruned when the next pool is made.
pub fn queued_slice(id: u32, index: u32, offset: u32, length: u32) -> Option<(Slice, Option<u16>)> {
    let mem = POOLS.with(|p| p.borrow().get(&id).and_then(std::rc::Weak::upgrade))?;
    if mem.disposed.get() {
        return None;
    }
    slice_of(&mem, index, offset, length).ok()
}

/// Bytes `offset..offset+length` of buffer `index` of `mem`, for one op, and the buffer's
/// slot in the ring's table when registered (counted as a fixed op).
fn slice_of(
    mem: &Rc<PoolMem>,
    index: u32,
    offset: u32,
    length: u32,
) -> Result<(Slice, Option<u16>)> {
    if index >= mem.count || offset as usize + length as usize > mem.size {
        return Err(js::error(
            codes::OUT_OF_RANGE,
            "pool buffer range out of bounds",
        ));
    }
    // SAFETY: offset + length <= size, inside buffer `index` of the mapping.
    let ptr = unsafe { mem.buffer_ptr(index).add(offset as usize) };
    let first = mem.first.get().map(|f| f + index as u16);
    if first.is_some() {
        mem.fixed_ops.set(mem.fixed_ops.get() + 1.0);
    }
    Ok((Slice::new(mem, ptr, length as usize), first))
}

/// Empties table ranges left by [`PoolMem::drop`]; call inside `runtime::with`.
pub fn flush_deferred(driver: &mut boros::Driver) {
    DEFERRED.with(|d| {
        for (first, n) in d.borrow_mut().drain(..) {
            driver.unregister_buffers(first, n);
        }
    });
}

/// The memory of one pool: `count` buffers of `size` bytes, `stride` bytes apart.
pub struct PoolMem {
    base: *mut u8,
    map_len: usize,
    stride: usize,
    size: usize,
    count: u32,
    /// First slot in the ring's buffer table, while registered.
    first: Cell<Option<u16>>,
    /// Ops queued or in flight on this memory (live [`Slice`]s).
    in_flight: Cell<u32>,
    /// The pool was disposed: empty the slots as soon as no op uses them.
    disposed: Cell<bool>,
    /// Ops queued as READ_FIXED/WRITE_FIXED on this memory.
    fixed_ops: Cell<f64>,
}

impl PoolMem {
    fn map(count: u32, size: usize) -> Result<Self> {
        // Page-aligned buffers (good for O_DIRECT and for pinning); small ones 64-byte aligned.
        let stride = if size >= 4096 {
            size.div_ceil(4096) * 4096
        } else {
            size.div_ceil(64) * 64
        };
        let map_len = stride
            .checked_mul(count as usize)
            .filter(|&l| l > 0 && l <= isize::MAX as usize)
            .ok_or_else(|| {
                js::error(codes::OUT_OF_RANGE, "BufferPool: count * size is too large")
            })?;
        // SAFETY: an anonymous private mapping; no address hint; result checked below.
        let base = unsafe {
            libc::mmap(
                ptr::null_mut(),
                map_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            let e = std::io::Error::last_os_error();
            return Err(js::error(
                codes::OUT_OF_RANGE,
                format!("BufferPool: mmap of {map_len} bytes failed: {e}"),
            ));
        }
        Ok(Self {
            base: base.cast(),
            map_len,
            stride,
            size,
            count,
            first: Cell::new(None),
            in_flight: Cell::new(0),
            disposed: Cell::new(false),
            fixed_ops: Cell::new(0.0),
        })
    }

    fn buffer_ptr(&self, index: u32) -> *mut u8 {
        debug_assert!(index < self.count);
        // SAFETY: index < count, so the offset stays inside the mapping.
        unsafe { self.base.add(index as usize * self.stride) }
    }

    /// Empties this pool's table slots now if the runtime can be reached, else later.
    ///
    /// Only called when no op is queued or in flight on the memory: the kernel looks a fixed
    /// buffer up by index when it prepares or issues the request, so emptying a slot under a
    /// queued READ_FIXED would fail it (EFAULT), and refilling the slot with another pool's
    /// memory before it is issued would send the data there.
    fn unregister(&self) {
        debug_assert_eq!(self.in_flight.get(), 0);
        let Some(first) = self.first.take() else {
            return;
        };
        let n = self.count as usize;
        let done = runtime::with(|rt| {
            rt.driver.unregister_buffers(first, n);
            Ok(())
        });
        if done.is_err() && runtime::is_initialized() {
            DEFERRED.with(|d| d.borrow_mut().push((first, n)));
        }
        // Not initialized: the ring is gone, and its registrations with it.
    }
}

impl Drop for PoolMem {
    fn drop(&mut self) {
        // No Slice is left (each holds an Rc), so no op uses the memory.
        self.unregister();
        // SAFETY: the mapping is ours; no op is in flight on it (every op holds an Rc, and we
        // are the last one); no JS Buffer views it (each holds an Rc too). If it is still in
        // the buffer table (deferred), the kernel holds its own page references and no
        // request can name those slots until they are emptied.
        unsafe { libc::munmap(self.base.cast(), self.map_len) };
    }
}

/// A range of pool memory owned by an op: keeps the whole mapping alive.
pub struct Slice {
    mem: Rc<PoolMem>,
    ptr: *mut u8,
    len: usize,
}

impl Slice {
    fn new(mem: &Rc<PoolMem>, ptr: *mut u8, len: usize) -> Self {
        mem.in_flight.set(mem.in_flight.get() + 1);
        Self {
            mem: Rc::clone(mem),
            ptr,
            len,
        }
    }
}

impl Drop for Slice {
    /// The op that owned this slice completed (or was never queued).
    fn drop(&mut self) {
        let left = self.mem.in_flight.get() - 1;
        self.mem.in_flight.set(left);
        if left == 0 && self.mem.disposed.get() {
            // Usually inside a reap, with the runtime borrowed: deferred to the next pool call.
            self.mem.unregister();
        }
    }
}

// SAFETY: `ptr..ptr+len` lies inside the mapping (checked in `slice`), which does not move
// and is not unmapped while this Rc lives.
unsafe impl IoBuf for Slice {
    fn stable_ptr(&self) -> *const u8 {
        self.ptr
    }
    fn bytes_init(&self) -> usize {
        self.len
    }
}

// SAFETY: as above; the mapping is writable and every byte of it is initialized (zeroed by mmap).
unsafe impl IoBufMut for Slice {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.ptr
    }
    fn bytes_total(&self) -> usize {
        self.len
    }
    unsafe fn set_init(&mut self, _n: usize) {}
}

/// The native half of a JS `BufferPool`.
#[napi]
pub struct NativeBufferPool {
    id: u32,
    mem: Option<Rc<PoolMem>>,
    reason: Option<String>,
}

fn refusal_reason(e: &boros::RegisterError, bytes: usize) -> String {
    match e.raw_os_error() {
        Some(libc::ENOMEM) => {
            let mut lim = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            // SAFETY: getrlimit writes into the local struct.
            let memlock = if unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut lim) } == 0 {
                if lim.rlim_cur == libc::RLIM_INFINITY {
                    "unlimited".to_owned()
                } else {
                    format!("{} bytes", lim.rlim_cur)
                }
            } else {
                "unknown".to_owned()
            };
            format!(
                "registering {bytes} bytes of buffers was refused (ENOMEM): locked memory is limited by \
                 RLIMIT_MEMLOCK ({memlock}) or the memory cgroup; the pool uses plain memory"
            )
        }
        Some(errno) => format!(
            "registering buffers was refused: {} (errno {errno}); the pool uses plain memory",
            std::io::Error::from_raw_os_error(errno)
        ),
        None => format!("{e}; the pool uses plain memory"),
    }
}

/// Returns a raw napi value from an exported function.
pub struct RawValue(sys::napi_value);

impl ToNapiValue for RawValue {
    unsafe fn to_napi_value(_env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        Ok(val.0)
    }
}

impl TypeName for RawValue {
    fn type_name() -> &'static str {
        "unknown"
    }
    fn value_type() -> ValueType {
        ValueType::Unknown
    }
}

unsafe extern "C" fn finalize_buffer(_env: sys::napi_env, _data: *mut c_void, hint: *mut c_void) {
    // SAFETY: `hint` is the Box<Rc<PoolMem>> leaked in `buffers`, finalized exactly once, on
    // the JS thread (napi's contract for finalizers), where the Rc was made.
    drop(unsafe { Box::from_raw(hint.cast::<Rc<PoolMem>>()) });
}

#[napi]
impl NativeBufferPool {
    /// Maps `count * size` bytes and tries to register each buffer with this thread's ring.
    #[napi(constructor)]
    pub fn new(count: u32, size: u32) -> Result<Self> {
        let mem = PoolMem::map(count, size as usize)?;
        let reason = runtime::with(|rt| {
            flush_deferred(&mut rt.driver);
            let iovecs: Vec<libc::iovec> = (0..count)
                .map(|i| libc::iovec {
                    iov_base: mem.buffer_ptr(i).cast(),
                    iov_len: mem.size,
                })
                .collect();
            // SAFETY: the iovecs cover our mapping, which is unmapped only after the slots
            // were emptied (PoolMem::drop -> unregister) and no op uses it any more.
            match unsafe { rt.driver.register_buffers(&iovecs) } {
                Ok(first) => {
                    mem.first.set(Some(first));
                    Ok(None)
                }
                Err(e) => Ok(Some(refusal_reason(&e, mem.size * count as usize))),
            }
        })?;
        let mem = Rc::new(mem);
        let id = NEXT_ID.with(|n| {
            let id = n.get();
            n.set(id.wrapping_add(1).max(1));
            id
        });
        POOLS.with(|p| {
            let mut pools = p.borrow_mut();
            pools.retain(|_, m| m.strong_count() > 0);
            pools.insert(id, Rc::downgrade(&mem));
        });
        Ok(Self {
            id,
            mem: Some(mem),
            reason,
        })
    }

    /// This pool's number for ops queued in the façade's shared submission queue.
    #[napi(getter)]
    pub fn id(&self) -> u32 {
        self.id
    }

    /// Whether the buffers are registered with the ring.
    #[napi(getter)]
    pub fn registered(&self) -> bool {
        self.mem.as_ref().is_some_and(|m| m.first.get().is_some())
    }

    /// How many ops on this pool went out as `READ_FIXED`/`WRITE_FIXED`.
    #[napi(getter)]
    pub fn fixed_ops(&self) -> f64 {
        self.mem.as_ref().map_or(0.0, |m| m.fixed_ops.get())
    }

    /// Why registration was refused, if it was.
    #[napi(getter)]
    pub fn reason(&self) -> Option<String> {
        self.reason.clone()
    }

    /// One external Buffer per pool buffer, over the pool's memory (no copy). Each keeps the
    /// memory alive until it is garbage collected.
    #[napi(ts_return_type = "Array<Buffer>")]
    pub fn buffers(&self, env: Env) -> Result<RawValue> {
        let mem = self
            .mem
            .as_ref()
            .ok_or_else(|| js::error(codes::CLOSED, "BufferPool is disposed"))?;
        let env = env.raw();
        let mut array = ptr::null_mut();
        // SAFETY: JS thread, valid env; out-pointers are locals.
        unsafe { sys::napi_create_array_with_length(env, mem.count as usize, &mut array) };
        for i in 0..mem.count {
            let hint = Box::into_raw(Box::new(Rc::clone(mem)));
            let mut buf = ptr::null_mut();
            // SAFETY: the data pointer is inside our mapping, valid for `size` bytes for as long
            // as the Rc in `hint` lives, which the finalizer drops when the Buffer dies.
            let status = unsafe {
                sys::napi_create_external_buffer(
                    env,
                    mem.size,
                    mem.buffer_ptr(i).cast(),
                    Some(finalize_buffer),
                    hint.cast(),
                    &mut buf,
                )
            };
            if status != sys::Status::napi_ok {
                // SAFETY: the finalizer was not attached: take the Rc back.
                drop(unsafe { Box::from_raw(hint) });
                return Err(js::error(
                    codes::UNSUPPORTED_RUNTIME,
                    "napi_create_external_buffer failed (external buffers not allowed here)",
                ));
            }
            // SAFETY: valid env, array and element.
            unsafe { sys::napi_set_element(env, array, i, buf) };
        }
        Ok(RawValue(array))
    }

    /// Empties the pool's table slots and drops the pool's hold on the memory; Buffers still
    /// reachable in JS and ops still in flight keep it mapped until they are gone.
    #[napi]
    pub fn dispose(&mut self) {
        // Ops the façade queued on this pool go to the ring first (`with` drains the shared
        // queue): they own their memory from then on. Then the id stops naming the pool.
        let _ = runtime::with(|_| Ok(()));
        POOLS.with(|p| p.borrow_mut().remove(&self.id));
        if let Some(mem) = self.mem.take() {
            mem.disposed.set(true);
            if mem.in_flight.get() == 0 {
                mem.unregister();
            }
            // Else the last op to complete empties the slots (see `Slice::drop`).
        }
    }

    fn slice(&self, index: u32, offset: u32, length: u32) -> Result<(Slice, Option<u16>)> {
        let mem = self
            .mem
            .as_ref()
            .ok_or_else(|| js::error(codes::CLOSED, "BufferPool is disposed"))?;
        slice_of(mem, index, offset, length)
    }
}

/// The op for a read into (or a write from) a pool slice: `READ_FIXED`/`WRITE_FIXED` with
/// the buffer's table index when the pool is registered, a plain read or write of the same
/// memory otherwise. Shared by [`pool_io`] and the shared submission queue (queue.rs).
pub fn slice_op(
    write: bool,
    file: op::Target,
    slice: Slice,
    buf_index: Option<u16>,
    pos: u64,
) -> Box<dyn op::OpCode> {
    match (write, buf_index) {
        (false, Some(bi)) => Box::new(op::ReadFixed::new(file, slice, bi, pos)),
        (false, None) => Box::new(op::Read::new(file, slice, pos)),
        (true, Some(bi)) => Box::new(op::WriteFixed::new(file, slice, bi, pos)),
        (true, None) => Box::new(op::Write::new(file, slice, pos)),
    }
}

/// Queues a read into (or, with `write`, a write from) pool buffer `index`, bytes
/// `offset..offset+length`, at `position` (-1: current position) on `file` (a descriptor or
/// `-2 - slot`). The kernel reads or writes the pool buffer itself (see [`slice_op`]). For
/// ops that need a key (a signal, a task); the others go through the shared queue.
#[napi]
#[allow(clippy::too_many_arguments)]
pub fn pool_io(
    write: bool,
    file: i32,
    pool: &NativeBufferPool,
    index: u32,
    offset: u32,
    length: u32,
    position: i64,
    token_id: u32,
) -> Result<f64> {
    let t = target(file)?;
    let pos = args::position(position)?;
    let (slice, buf_index) = pool.slice(index, offset, length)?;
    runtime::with(|rt| {
        flush_deferred(&mut rt.driver);
        rt.queue(
            slice_op(write, t, slice, buf_index, pos),
            token(KIND_PLAIN, token_id),
        )
    })
}

/// Used by `direct.rs` (the one-trip readFile) to read into bytes `offset..offset+length`
/// of a pool buffer.
pub fn pool_slice(
    pool: &NativeBufferPool,
    index: u32,
    offset: u32,
    length: u32,
) -> Result<(Slice, Option<u16>)> {
    pool.slice(index, offset, length)
}
