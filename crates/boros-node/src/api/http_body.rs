//! Held bodies: `serve()`'s `Response` copies a byte body when it is built (Fetch's "extract a
//! body" copies a BufferSource) into engine memory ([`crate::http::out::hold`]) instead of a new
//! `ArrayBuffer`, whose backing store V8 counts as external memory and collects only by full
//! garbage collections (docs/http.md, "64 KiB body at 1,000 connections"). JS keeps an external
//! handle; the response's send takes the bytes out of it (`body_bytes` in `api/http.rs`), and
//! their memory goes back to a pool once the kernel has sent them. Held bytes are never written
//! again, so a body with the same bytes as a recent one shares its copy (`out::hold`).

use crate::http::out;
use crate::js::{self, codes, Result};
use napi::bindgen_prelude::*;
use napi::sys;
use napi_derive::napi;
use std::cell::RefCell;
use std::ffi::c_void;
use std::ptr;

/// What an external handle points at: the bytes until a send (or a release) takes them.
pub type Held = RefCell<Option<out::Shared>>;

/// The type tag of every handle `http_body_hold` makes: `take` casts only externals that carry
/// it, so an external from another addon is refused, not reinterpreted as a [`Held`].
const BODY_TAG: sys::napi_type_tag = sys::napi_type_tag {
    lower: 0xb0f0_5b0d_7a91_1e01,
    upper: 0x6f1d_2c3e_4a5b_8c9d,
};

unsafe extern "C" fn finalize(env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    // SAFETY: `data` is the Box<Held> leaked in `http_body_hold`; N-API calls this once.
    let held = unsafe { Box::from_raw(data.cast::<Held>()) };
    if let Some(v) = held.into_inner() {
        // SAFETY: the env this finalizer was registered in, on its thread.
        unsafe { js::adjust_external_memory(env, -(v.len() as i64)) };
        out::give(v);
    }
}

/// The bytes behind handle `v` (taken: a second take gets None), or None when `v` is no
/// handle of ours.
///
/// # Safety
/// On the JS thread, with `env` and `v` valid for the current call.
pub unsafe fn take(env: sys::napi_env, v: sys::napi_value) -> Result<Option<out::Shared>> {
    let mut ours = false;
    let mut data = ptr::null_mut();
    // SAFETY: as the contract says; `BODY_TAG` is a static that outlives the call.
    let tagged = unsafe { sys::napi_check_object_type_tag(env, v, &BODY_TAG, &mut ours) };
    let external = tagged == sys::Status::napi_ok
        && ours
        // SAFETY: as the contract says; `v` is an external (the caller checked its type).
        && unsafe { sys::napi_get_value_external(env, v, &mut data) } == sys::Status::napi_ok;
    if !external || data.is_null() {
        return Err(js::error(
            codes::INVALID_ARG_TYPE,
            "boros: not a body handle",
        ));
    }
    // SAFETY: `v` carries `BODY_TAG`, which only `http_body_hold` puts on the external it makes
    // around a leaked `Box<Held>` (freed by `finalize`, which cannot run while `v` is
    // referenced by this call).
    let held = unsafe { &*data.cast::<Held>() };
    let taken = held.borrow_mut().take();
    if let Some(b) = &taken {
        // SAFETY: `take`'s contract: a valid env on its JS thread.
        unsafe { js::adjust_external_memory(env, -(b.len() as i64)) };
    }
    Ok(taken)
}

/// A copy of `view`'s bytes in engine memory, as an external handle for `httpRespond`.
#[napi(ts_return_type = "object")]
pub fn http_body_hold<'env>(
    env: &'env Env,
    #[napi(ts_arg_type = "ArrayBufferView")] view: Unknown,
) -> Result<Unknown<'env>> {
    // SAFETY: an argument of this call; the bytes are copied before it returns.
    let (p, len) = unsafe { js::view_info(env.raw(), view.raw())? };
    let bytes = if len == 0 {
        &[][..]
    } else {
        // SAFETY: the view's memory is valid for `len` bytes during this call.
        unsafe { std::slice::from_raw_parts(p, len) }
    };
    let data = Box::into_raw(Box::new(Held::new(Some(out::hold(bytes)))));
    let mut value = ptr::null_mut();
    // SAFETY: `data` stays valid until `finalize` (which frees it) runs; on failure it is ours.
    let st = unsafe {
        sys::napi_create_external(
            env.raw(),
            data.cast(),
            Some(finalize),
            ptr::null_mut(),
            &mut value,
        )
    };
    if st != sys::Status::napi_ok {
        // SAFETY: N-API did not take `data`.
        drop(unsafe { Box::from_raw(data) });
        return Err(js::error(
            codes::UNSUPPORTED_RUNTIME,
            "boros: this runtime refuses externals",
        ));
    }
    // SAFETY: `value` is the external just created in this env; `BODY_TAG` is a static.
    if unsafe { sys::napi_type_tag_object(env.raw(), value, &BODY_TAG) } != sys::Status::napi_ok {
        // The external owns `data` now: its finalizer frees it when V8 collects `value`.
        return Err(js::error(
            codes::UNSUPPORTED_RUNTIME,
            "boros: this runtime refuses type tags",
        ));
    }
    // SAFETY: this call's env, on its JS thread.
    unsafe { js::adjust_external_memory(env.raw(), len as i64) };
    // SAFETY: `value` was just created in this env.
    Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), value) })
}

/// Takes the bytes out of `handle` as a new Buffer (for a `Response` built after all); null
/// when a send already took them.
#[napi(ts_return_type = "Buffer | null")]
pub fn http_body_release(
    env: Env,
    #[napi(ts_arg_type = "object")] handle: Unknown,
) -> Result<Option<Buffer>> {
    // SAFETY: an argument of this call, on the JS thread.
    let Some(v) = (unsafe { take(env.raw(), handle.raw())? }) else {
        return Ok(None);
    };
    let b = Buffer::from(v.as_slice());
    out::give(v);
    Ok(Some(b))
}
