//! Raw N-API helpers: pinned JS buffers, Buffers over native memory, and JS errors built in
//! one place.

use boros::buf::IoBuf;
use napi::sys;
use std::ffi::c_void;
use std::ptr;

pub use crate::wire::codes;

/// The binding's error type: a JS `Error` whose `code` is one of [`codes`].
pub type Error = napi::Error<&'static str>;
pub type Result<T> = std::result::Result<T, Error>;

/// Tells V8's garbage collector that JS objects keep `delta` bytes more (or fewer, when
/// negative) of native memory alive, so it weighs them when it decides to collect.
///
/// # Safety
/// `env` is a valid env, used on its JS thread (a finalizer's env qualifies).
pub unsafe fn adjust_external_memory(env: sys::napi_env, delta: i64) {
    let mut total = 0i64;
    // SAFETY: per the contract above; `total` is a local the call writes once.
    unsafe { sys::napi_adjust_external_memory(env, delta, &mut total) };
}

/// What keeps an external Buffer's memory alive, and the bytes reported to V8 for it.
struct Keeper<T> {
    _owner: T,
    accounted: i64,
}

unsafe extern "C" fn drop_keeper<T>(env: sys::napi_env, _data: *mut c_void, hint: *mut c_void) {
    // SAFETY: `hint` is the Box<Keeper<T>> leaked by `external_buffer`; N-API calls this once,
    // on the JS thread the Buffer (and `T`) were made on.
    let keeper = unsafe { Box::from_raw(hint.cast::<Keeper<T>>()) };
    if keeper.accounted != 0 {
        // SAFETY: the env this finalizer was registered in, on its thread.
        unsafe { adjust_external_memory(env, -keeper.accounted) };
    }
}

/// A `Buffer` over the `len` bytes at `data`, which `owner` keeps valid: `owner` drops when V8
/// collects the Buffer (or here, when N-API refuses external buffers). With `account`, V8 is
/// told of the `len` bytes while the Buffer lives ([`adjust_external_memory`]).
///
/// # Safety
/// `env` is the current call's env, on its JS thread; `data` is valid for `len` bytes for as
/// long as `owner` lives, and nothing else frees it.
pub unsafe fn external_buffer<T>(
    env: sys::napi_env,
    data: *mut u8,
    len: usize,
    owner: T,
    account: bool,
) -> Result<sys::napi_value> {
    let accounted = if account { len as i64 } else { 0 };
    let hint = Box::into_raw(Box::new(Keeper {
        _owner: owner,
        accounted,
    }));
    let mut value = ptr::null_mut();
    // SAFETY: per the contract above, `data` stays valid until `drop_keeper` drops the owner;
    // on failure the hint is taken back below.
    let status = unsafe {
        sys::napi_create_external_buffer(
            env,
            len,
            data.cast(),
            Some(drop_keeper::<T>),
            hint.cast(),
            &mut value,
        )
    };
    if status != sys::Status::napi_ok {
        // SAFETY: N-API did not take ownership of the hint.
        drop(unsafe { Box::from_raw(hint) });
        return Err(error(
            codes::UNSUPPORTED_RUNTIME,
            "boros: this runtime refuses external buffers",
        ));
    }
    if accounted != 0 {
        // SAFETY: the current call's env, on its JS thread.
        unsafe { adjust_external_memory(env, accounted) };
    }
    Ok(value)
}

/// Builds a binding error. Every error the binding throws is made here.
pub fn error(code: &'static str, message: impl Into<String>) -> Error {
    napi::Error::new(code, message.into())
}

/// Maps a refused push to a JS error.
pub fn push_error(e: boros::PushError) -> Error {
    match e {
        boros::PushError::Unsupported { .. } => error(codes::UNSUPPORTED_OP, e.to_string()),
        boros::PushError::Submit(io) => {
            error(codes::SUBMIT_FAILED, format!("io_uring_enter failed: {io}"))
        }
    }
}

fn check(status: sys::napi_status) -> Result<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(error(
            codes::INVALID_ARG_TYPE,
            format!("N-API call failed with status {status}"),
        ))
    }
}

/// Data pointer and byte length of an ArrayBufferView (Buffer, any TypedArray, DataView).
///
/// # Safety
/// `env` and `value` must be valid for the current call.
pub unsafe fn view_info(env: sys::napi_env, value: sys::napi_value) -> Result<(*mut u8, usize)> {
    let mut data = ptr::null_mut();
    let mut len = 0usize;
    // SAFETY: env/value are valid per the contract; out-pointers are locals. Node's
    // napi_get_buffer_info accepts exactly the ArrayBufferViews (TypedArray or DataView:
    // `Buffer::HasInstance` is `IsArrayBufferView`) and fails with `napi_invalid_arg` for
    // anything else, so it is the check as well (one N-API call per write, not two).
    let status = unsafe { sys::napi_get_buffer_info(env, value, &mut data, &mut len) };
    if status == sys::Status::napi_invalid_arg {
        return Err(error(
            codes::INVALID_ARG_TYPE,
            "The \"buffer\" argument must be an instance of Buffer, TypedArray, or DataView.",
        ));
    }
    check(status)?;
    Ok((data.cast(), len))
}

/// Data pointer and byte length of an `ArrayBuffer`.
///
/// # Safety
/// `env` and `value` must be valid for the current call.
pub unsafe fn arraybuffer_info(
    env: sys::napi_env,
    value: sys::napi_value,
) -> Result<(*mut u8, usize)> {
    let mut is_ab = false;
    // SAFETY: env/value are valid per the contract; out-pointers are locals.
    check(unsafe { sys::napi_is_arraybuffer(env, value, &mut is_ab) })?;
    if !is_ab {
        return Err(error(codes::INVALID_ARG_TYPE, "expected an ArrayBuffer"));
    }
    let mut data = ptr::null_mut();
    let mut len = 0usize;
    // SAFETY: as above; `value` is an ArrayBuffer.
    check(unsafe { sys::napi_get_arraybuffer_info(env, value, &mut data, &mut len) })?;
    Ok((data.cast(), len))
}

/// A JS ArrayBufferView held by a strong reference while the kernel may use its memory.
///
/// The reference keeps the view and its ArrayBuffer from being collected. It cannot stop
/// an ArrayBuffer from being *detached* (transferred): so boros never lets the kernel write
/// into a `JsBuf` — reads go into memory the op owns and are copied out at completion,
/// after checking the view is still attached. Writes read from it in place (see docs/buffers.md).
pub struct JsBuf {
    env: sys::napi_env,
    reference: sys::napi_ref,
    ptr: *mut u8,
    len: usize,
}

impl JsBuf {
    /// Pins `value`.
    ///
    /// # Safety
    /// Must be called on the JS thread of `env`, with a valid `value`.
    pub unsafe fn new(env: sys::napi_env, value: sys::napi_value) -> Result<Self> {
        // SAFETY: forwarded contract.
        let (ptr, len) = unsafe { view_info(env, value)? };
        let mut reference = ptr::null_mut();
        // SAFETY: valid env/value; the out-pointer is a local.
        check(unsafe { sys::napi_create_reference(env, value, 1, &mut reference) })?;
        Ok(Self {
            env,
            reference,
            ptr,
            len,
        })
    }

    /// Byte length when pinned.
    pub fn len(&self) -> usize {
        self.len
    }

    /// The view's memory as it is now: `None` if its ArrayBuffer was detached meanwhile.
    ///
    /// # Safety
    /// Must be called on the JS thread, inside a handle scope.
    pub unsafe fn current(&self) -> Option<(*mut u8, usize)> {
        let mut value = ptr::null_mut();
        // SAFETY: the reference is alive (we hold it), env is the one it was made in.
        unsafe {
            if sys::napi_get_reference_value(self.env, self.reference, &mut value)
                != sys::Status::napi_ok
                || value.is_null()
            {
                return None;
            }
            let mut data = ptr::null_mut();
            let mut len = 0usize;
            if sys::napi_get_buffer_info(self.env, value, &mut data, &mut len)
                != sys::Status::napi_ok
            {
                return None;
            }
            if data.is_null() || len < self.len {
                return None;
            }
            Some((data.cast(), len))
        }
    }
}

impl Drop for JsBuf {
    fn drop(&mut self) {
        // SAFETY: dropped on the JS thread (the driver is !Send and lives on it); the
        // reference was created in this env and is deleted exactly once.
        unsafe { sys::napi_delete_reference(self.env, self.reference) };
    }
}

// SAFETY: the strong reference keeps the ArrayBuffer alive and its memory in place for as
// long as the JsBuf lives (V8 never moves ArrayBuffer backing stores). Only a detach can take
// the memory away; see the type's docs for how boros limits what that can do.
unsafe impl IoBuf for JsBuf {
    fn stable_ptr(&self) -> *const u8 {
        self.ptr
    }
    fn bytes_init(&self) -> usize {
        self.len
    }
}
