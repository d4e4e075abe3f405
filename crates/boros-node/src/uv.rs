//! The few libuv functions boros needs, looked up in the running process.
//!
//! Node exports libuv's `uv_*` symbols; we resolve them with `dlsym` at run time instead of
//! linking a second libuv (which would have its own, different loop). Bun and Deno do not
//! provide a working libuv, so a missing symbol is reported as an unsupported runtime.

use std::ffi::{c_int, c_void, CStr};
use std::sync::OnceLock;

/// `uv_handle_type` values (stable across libuv 1.x).
pub const UV_POLL: c_int = 8;
pub const UV_PREPARE: c_int = 9;
/// `uv_poll_event`.
pub const UV_READABLE: c_int = 1;

pub type Handle = c_void;
pub type Loop = c_void;
pub type PollCb = unsafe extern "C" fn(*mut Handle, c_int, c_int);
pub type PrepareCb = unsafe extern "C" fn(*mut Handle);
pub type CloseCb = unsafe extern "C" fn(*mut Handle);

pub type HandleSizeFn = unsafe extern "C" fn(c_int) -> usize;
pub type PollInitFn = unsafe extern "C" fn(*mut Loop, *mut Handle, c_int) -> c_int;
pub type PollStartFn = unsafe extern "C" fn(*mut Handle, c_int, PollCb) -> c_int;
pub type PollStopFn = unsafe extern "C" fn(*mut Handle) -> c_int;
pub type PrepareInitFn = unsafe extern "C" fn(*mut Loop, *mut Handle) -> c_int;
pub type PrepareStartFn = unsafe extern "C" fn(*mut Handle, PrepareCb) -> c_int;
pub type CloseFn = unsafe extern "C" fn(*mut Handle, CloseCb);
pub type RefFn = unsafe extern "C" fn(*mut Handle);

pub struct Uv {
    pub handle_size: HandleSizeFn,
    pub poll_init: PollInitFn,
    pub poll_start: PollStartFn,
    pub poll_stop: PollStopFn,
    pub prepare_init: PrepareInitFn,
    pub prepare_start: PrepareStartFn,
    pub close: CloseFn,
    pub r#ref: RefFn,
    pub unref: RefFn,
}

fn sym(name: &CStr) -> Result<*mut c_void, String> {
    // SAFETY: dlsym with RTLD_DEFAULT searches the global symbols of the process; the name is
    // a NUL-terminated C string.
    let p = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
    if p.is_null() {
        Err(format!(
            "boros needs Node.js's libuv, but {} is not in this process \
             (Bun and Deno are not supported)",
            name.to_string_lossy()
        ))
    } else {
        Ok(p)
    }
}

static UV: OnceLock<Result<Uv, String>> = OnceLock::new();

macro_rules! load {
    ($name:literal, $ty:ty) => {
        // SAFETY: the symbol comes from libuv in this process and has this C signature
        // (libuv 1.x ABI, unchanged since 1.0 for these functions).
        unsafe { std::mem::transmute::<*mut c_void, $ty>(sym($name)?) }
    };
}

/// The running libuv's version (`uv_version()`: `0xMMmmpp`), or 0 if it cannot be read.
pub fn version() -> u32 {
    static V: OnceLock<u32> = OnceLock::new();
    *V.get_or_init(|| match sym(c"uv_version") {
        // SAFETY: libuv's `unsigned int uv_version(void)`, in this process since 1.0.
        Ok(f) => unsafe { std::mem::transmute::<*mut c_void, unsafe extern "C" fn() -> u32>(f)() },
        Err(_) => 0,
    })
}

/// The libuv functions, or why they are not there.
pub fn get() -> Result<&'static Uv, String> {
    UV.get_or_init(|| {
        Ok(Uv {
            handle_size: load!(c"uv_handle_size", HandleSizeFn),
            poll_init: load!(c"uv_poll_init", PollInitFn),
            poll_start: load!(c"uv_poll_start", PollStartFn),
            poll_stop: load!(c"uv_poll_stop", PollStopFn),
            prepare_init: load!(c"uv_prepare_init", PrepareInitFn),
            prepare_start: load!(c"uv_prepare_start", PrepareStartFn),
            close: load!(c"uv_close", CloseFn),
            r#ref: load!(c"uv_ref", RefFn),
            unref: load!(c"uv_unref", RefFn),
        })
    })
    .as_ref()
    .map_err(Clone::clone)
}

/// Allocates zeroed memory for a handle of `kind`. Every libuv handle starts with
/// `void* data`, which we use to find our runtime from a callback.
pub fn alloc_handle(uv: &Uv, kind: c_int, data: *mut c_void) -> *mut Handle {
    // SAFETY: uv_handle_size only reads the enum value.
    let size = unsafe { (uv.handle_size)(kind) };
    // SAFETY: calloc returns zeroed memory of the requested size, or null (checked).
    let h = unsafe { libc::calloc(1, size) };
    assert!(!h.is_null(), "out of memory allocating a libuv handle");
    // SAFETY: `data` is the first field of every uv handle, and the memory is at least that big.
    unsafe { *(h as *mut *mut c_void) = data };
    h
}

/// The `data` field of a handle.
///
/// # Safety
/// `h` must be a handle made by [`alloc_handle`].
pub unsafe fn handle_data(h: *mut Handle) -> *mut c_void {
    // SAFETY: per the contract, `data` is the first field.
    unsafe { *(h as *mut *mut c_void) }
}
