//! Handing a batch to JS: the Buffer of a round's received bytes, and the one
//! `napi_make_callback` that delivers the batch's completions and stream events.

use super::RuntimeCell;
use napi::sys;
use std::ffi::c_void;
use std::ptr;

/// The Buffer of a round's received bytes: the `Vec` itself, handed to V8 without a copy
/// (freed by `free_event_data` when the Buffer is collected), or a copy where external
/// buffers are refused. Saves one copy of every received byte and the peak it cost.
///
/// # Safety
/// JS thread, inside a handle scope.
pub(super) unsafe fn event_buffer(env: sys::napi_env, bytes: Vec<u8>) -> sys::napi_value {
    let mut data = ptr::null_mut();
    if !bytes.is_empty() {
        let len = bytes.len();
        let boxed = Box::new(bytes);
        let at = boxed.as_ptr() as *mut c_void;
        let hint = Box::into_raw(boxed);
        // SAFETY: `at..at+len` stays valid and unmoved until the finalizer frees the box (the
        // Vec's heap buffer does not move when the Vec itself is boxed).
        let status = unsafe {
            sys::napi_create_external_buffer(
                env,
                len,
                at,
                Some(free_event_data),
                hint.cast(),
                &mut data,
            )
        };
        if status == sys::Status::napi_ok {
            return data;
        }
        // SAFETY: the call failed, so no finalizer owns `hint`: take it back.
        let bytes = unsafe { Box::from_raw(hint) };
        // SAFETY: as above; copies the bytes into a new Buffer.
        unsafe {
            sys::napi_create_buffer_copy(
                env,
                bytes.len(),
                bytes.as_ptr().cast(),
                ptr::null_mut(),
                &mut data,
            )
        };
        return data;
    }
    // SAFETY: as above; an empty Buffer.
    unsafe { sys::napi_create_buffer_copy(env, 0, ptr::null(), ptr::null_mut(), &mut data) };
    data
}

unsafe extern "C" fn free_event_data(_env: sys::napi_env, _data: *mut c_void, hint: *mut c_void) {
    // SAFETY: `hint` is the box `event_buffer` leaked for this Buffer; V8 calls this once.
    drop(unsafe { Box::from_raw(hint as *mut Vec<u8>) });
}

/// Calls the JS completion handler with `n` (token, result) pairs in the results array,
/// inside a callback scope (`napi_make_callback`): microtasks and nextTicks run afterwards.
pub(super) unsafe fn deliver(
    cell: &RuntimeCell,
    env: sys::napi_env,
    n: usize,
    m: usize,
    data: sys::napi_value,
) {
    let (on_complete, ctx) = {
        let rt = cell.borrow();
        (rt.on_complete, rt.async_ctx)
    };
    // SAFETY: JS thread inside a handle scope; references are alive while the runtime is.
    unsafe {
        let mut func = ptr::null_mut();
        let mut recv = ptr::null_mut();
        let mut args = [ptr::null_mut(); 3];
        let mut result = ptr::null_mut();
        sys::napi_get_reference_value(env, on_complete, &mut func);
        sys::napi_get_global(env, &mut recv);
        sys::napi_create_uint32(env, n as u32, &mut args[0]);
        sys::napi_create_uint32(env, m as u32, &mut args[1]);
        if data.is_null() {
            sys::napi_get_undefined(env, &mut args[2]);
        } else {
            args[2] = data;
        }
        let status = sys::napi_make_callback(env, ctx, recv, func, 3, args.as_ptr(), &mut result);
        if status == sys::Status::napi_pending_exception {
            let mut err = ptr::null_mut();
            sys::napi_get_and_clear_last_exception(env, &mut err);
            sys::napi_fatal_exception(env, err);
        }
    }
}
