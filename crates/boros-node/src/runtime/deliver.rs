//! Handing a batch to JS: the one `napi_make_callback` that delivers the batch's completions
//! and stream events (with the array of segments their bytes are in: `segments.rs`).

use super::RuntimeCell;
use napi::sys;
use std::ptr;

/// Calls the JS completion handler with `n` (token, result) pairs in the results array, `m`
/// stream events, their segments and the loop turn (see `Runtime::turn`),
/// inside a callback scope (`napi_make_callback`): microtasks and nextTicks run afterwards.
pub(super) unsafe fn deliver(
    cell: &RuntimeCell,
    env: sys::napi_env,
    n: usize,
    m: usize,
    data: sys::napi_value,
) {
    let (on_complete, ctx, turn) = {
        let rt = cell.borrow();
        (rt.on_complete, rt.async_ctx, rt.turn)
    };
    // SAFETY: JS thread inside a handle scope; references are alive while the runtime is.
    unsafe {
        let mut func = ptr::null_mut();
        let mut args = [ptr::null_mut(); 4];
        let mut result = ptr::null_mut();
        sys::napi_get_reference_value(env, on_complete, &mut func);
        // `this` of the call: the handler itself (onComplete ignores `this`; a function is an
        // object, as `napi_make_callback` requires), not `napi_get_global`, a lookup of the
        // context's global proxy per delivery.
        let recv = func;
        sys::napi_create_uint32(env, n as u32, &mut args[0]);
        sys::napi_create_uint32(env, m as u32, &mut args[1]);
        if data.is_null() {
            sys::napi_get_undefined(env, &mut args[2]);
        } else {
            args[2] = data;
        }
        sys::napi_create_uint32(env, turn, &mut args[3]);
        let status = sys::napi_make_callback(env, ctx, recv, func, 4, args.as_ptr(), &mut result);
        if status == sys::Status::napi_pending_exception {
            let mut err = ptr::null_mut();
            sys::napi_get_and_clear_last_exception(env, &mut err);
            sys::napi_fatal_exception(env, err);
        }
    }
}
