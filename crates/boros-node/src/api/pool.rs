//! `BufferPool`'s native half: registered buffers lent to JS as Buffers without copying (the
//! memory and who keeps it alive: [`crate::pool_mem`]).

use crate::args;
use crate::js::{self, codes, Result};
use crate::ops::Passthrough;
use crate::pool_mem::{slice_of, PoolMem, Slice, SliceOp};
use crate::runtime;
use napi::bindgen_prelude::*;
use napi::sys;
use napi_derive::napi;
use std::ptr;
use std::rc::Rc;

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

#[napi]
impl NativeBufferPool {
    /// Maps `count * size` bytes and tries to register each buffer with this thread's ring.
    #[napi(constructor)]
    pub fn new(count: u32, size: u32) -> Result<Self> {
        let mem = PoolMem::map(count, size as usize)?;
        let (reason, mem, id) = runtime::with(|rt| {
            let iovecs: Vec<libc::iovec> = (0..count)
                .map(|i| libc::iovec {
                    iov_base: mem.buffer_ptr(i).cast(),
                    iov_len: mem.size,
                })
                .collect();
            // SAFETY: the iovecs cover our mapping, which is unmapped only after the slots
            // were emptied (PoolMem::drop -> unregister) and no op uses it any more.
            let reason = match unsafe { rt.driver.register_buffers(&iovecs) } {
                Ok(first) => {
                    mem.registered(first, rt.driver.releases());
                    None
                }
                Err(e) => Some(refusal_reason(&e, mem.size * count as usize)),
            };
            let mem = Rc::new(mem);
            let id = rt.pools.publish(&mem);
            Ok((reason, mem, id))
        })?;
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
            // SAFETY: JS thread, valid env; buffer `i` lies inside the mapping, valid for `size`
            // bytes for as long as the Rc the Buffer holds lives.
            let buf = unsafe {
                js::external_buffer(env, mem.buffer_ptr(i), mem.size, Rc::clone(mem), false)?
            };
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
        let id = self.id;
        let _ = runtime::with(|rt| {
            rt.pools.remove(id);
            Ok(())
        });
        if let Some(mem) = self.mem.take() {
            PoolMem::dispose(mem);
        }
    }

    /// Bytes `offset..offset+length` of buffer `index`, for one op.
    pub(crate) fn slice(
        &self,
        index: u32,
        offset: u32,
        length: u32,
    ) -> Result<(Slice, Option<u16>)> {
        let mem = self
            .mem
            .as_ref()
            .ok_or_else(|| js::error(codes::CLOSED, "BufferPool is disposed"))?;
        slice_of(mem, index, offset, length)
    }
}

/// Queues a read into (or, with `write`, a write from) pool buffer `index`, bytes
/// `offset..offset+length`, at `position` (-1: the current position) of the file. The kernel
/// reads or writes the pool buffer itself (see [`SliceOp`]). For ops that need a key (a
/// signal, a task); the others go through the shared queue.
#[napi]
#[allow(clippy::too_many_arguments)]
pub fn pool_io(
    write: bool,
    file_kind: u32,
    file: u32,
    pool: &NativeBufferPool,
    index: u32,
    offset: u32,
    length: u32,
    position: i64,
    token: u32,
) -> Result<f64> {
    let (file, pos) = args::file_at(file_kind, file, position)?;
    let (slice, buf_index) = pool.slice(index, offset, length)?;
    runtime::with(|rt| {
        rt.queue(Passthrough::new(
            SliceOp::new(write, file, slice, buf_index, pos),
            token,
        ))
    })
}
