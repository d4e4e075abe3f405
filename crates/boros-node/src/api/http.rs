//! The HTTP engine's calls (`crate::http`; the JS side is `src-ts/http/engine.ts`). Each call
//! only changes the engine's state and marks connections for the runtime's next flush: no op
//! is pushed here, so a turn's responses leave together.

use crate::http::out::{lend_min, Body};
use crate::http::{self, Limits};
use crate::js::{self, codes, Result};
use crate::runtime;
use napi::bindgen_prelude::*;
use napi::sys;
use napi_derive::napi;
use std::cell::RefCell;
use std::ptr;
use std::time::Duration;

/// A server's limits, as `src-ts/http/engine.ts` resolves them (node:http's defaults).
#[napi(object)]
pub struct HttpLimits {
    pub max_header_size: u32,
    /// -1: unlimited.
    pub max_body_size: f64,
    pub headers_timeout: u32,
    pub request_timeout: u32,
    pub keep_alive_timeout: u32,
    pub max_requests_per_socket: u32,
    pub high_water_mark: u32,
    /// The methods accepted (node's `http.METHODS`).
    pub methods: Vec<String>,
    /// A tab after a `Content-Length`'s digits is taken (the running Node's llhttp 9.4+).
    pub content_length_tab: bool,
    /// `Upgrade` requests switch protocols (`http::Limits::upgrades`); [`http_set_upgrades`]
    /// changes it.
    pub upgrades: bool,
}

thread_local! {
    static SCRATCH: RefCell<(Vec<u8>, Vec<u8>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

fn gone() -> js::Error {
    js::error(codes::CLOSED, "boros: the HTTP server is closed")
}

/// Starts serving HTTP on listening socket `fd`; records go to stream `stream`. Returns the
/// server's id.
#[napi]
pub fn http_listen(fd: i32, stream: u32, limits: HttpLimits) -> Result<u32> {
    let fd = crate::args::fd(fd)?;
    let ms = |v: u32| Duration::from_millis(u64::from(v));
    let l = Limits {
        max_header: limits.max_header_size as usize,
        max_body: if limits.max_body_size < 0.0 {
            u64::MAX
        } else {
            limits.max_body_size as u64
        },
        headers_timeout: ms(limits.headers_timeout),
        request_timeout: ms(limits.request_timeout),
        keep_alive: ms(limits.keep_alive_timeout),
        max_requests: limits.max_requests_per_socket,
        hwm: limits.high_water_mark as usize,
        methods: limits.methods,
        content_length_tab: limits.content_length_tab,
        upgrades: limits.upgrades,
    };
    runtime::with(|rt| {
        let srv = http::add_server(stream, fd, l);
        // Arm the accept now: it is what keeps the loop alive.
        rt.flush_http();
        Ok(srv)
    })
}

/// Pins the response queue's record words and slab (`src-ts/http/respond-queue.ts`).
#[napi]
pub fn http_queue(
    env: Env,
    #[napi(ts_arg_type = "Uint32Array")] words: Unknown,
    #[napi(ts_arg_type = "Buffer")] slab: Unknown,
) -> Result<()> {
    // SAFETY: arguments of this call, on the JS thread.
    unsafe { http::batch::init(env.raw(), words.raw(), slab.raw()) }
}

/// Registers a response head (`reason + "\r\n" + header lines`, latin1) for queued
/// responses; returns its id.
#[napi]
pub fn http_head(env: Env, #[napi(ts_arg_type = "string")] head: Unknown) -> Result<u32> {
    SCRATCH.with(|s| {
        let (h, _) = &mut *s.borrow_mut();
        // SAFETY: an argument of this call, on the JS thread.
        unsafe { latin1(env.raw(), head.raw(), h)? };
        Ok(http::batch::add_head(h))
    })
}

/// A latin1 string's bytes into `out`.
unsafe fn latin1(env: sys::napi_env, v: sys::napi_value, out: &mut Vec<u8>) -> Result<()> {
    let mut len = 0usize;
    // SAFETY: valid env/value for this call; a null buffer asks for the length.
    let st = unsafe { sys::napi_get_value_string_latin1(env, v, ptr::null_mut(), 0, &mut len) };
    if st != sys::Status::napi_ok {
        return Err(js::error(
            codes::INVALID_ARG_TYPE,
            "boros: expected a string",
        ));
    }
    out.clear();
    out.reserve(len + 1);
    let mut got = 0usize;
    // SAFETY: `out` has room for len + 1 bytes (the terminating NUL napi writes).
    unsafe {
        sys::napi_get_value_string_latin1(env, v, out.as_mut_ptr().cast(), len + 1, &mut got);
        out.set_len(got);
    }
    Ok(())
}

/// A body: a string (UTF-8) copied into `out`, an ArrayBufferView's bytes, (a view of
/// `out::LEND_MIN` bytes or more) the view itself, lent, or a held body's bytes
/// (`http_body_hold`); None for undefined/null.
unsafe fn body_bytes(
    env: sys::napi_env,
    v: sys::napi_value,
    out: &mut Vec<u8>,
) -> Result<Option<Body<'_>>> {
    let mut ty = 0;
    // SAFETY: valid env/value for this call.
    unsafe { sys::napi_typeof(env, v, &mut ty) };
    match ty {
        sys::ValueType::napi_undefined | sys::ValueType::napi_null => Ok(None),
        sys::ValueType::napi_external => {
            // SAFETY: valid env/value for this call, on the JS thread.
            match unsafe { super::http_body::take(env, v)? } {
                Some(b) => Ok(Some(Body::Held(b))),
                None => Err(js::error(
                    codes::INVALID_ARG_VALUE,
                    "boros: this response body was already sent",
                )),
            }
        }
        sys::ValueType::napi_string => {
            let mut len = 0usize;
            // SAFETY: as above; then `out` has room for len + 1 bytes.
            unsafe {
                sys::napi_get_value_string_utf8(env, v, ptr::null_mut(), 0, &mut len);
                out.clear();
                out.reserve(len + 1);
                let mut got = 0usize;
                sys::napi_get_value_string_utf8(env, v, out.as_mut_ptr().cast(), len + 1, &mut got);
                out.set_len(got);
            }
            Ok(Some(Body::Bytes(&out[..])))
        }
        _ => {
            // SAFETY: valid env/value; the bytes are read (copied) before this call returns.
            let (p, len) = unsafe { js::view_info(env, v)? };
            if len == 0 {
                return Ok(Some(Body::Bytes(&[])));
            }
            if len >= lend_min() {
                // SAFETY: valid env/value, on the JS thread.
                return Ok(Some(Body::Lent(unsafe { js::JsBuf::new(env, v)? })));
            }
            // SAFETY: the view's memory is valid for `len` bytes during this call.
            Ok(Some(Body::Bytes(unsafe {
                std::slice::from_raw_parts(p, len)
            })))
        }
    }
}

/// The head of response `seq` on `conn`: `head` is `reason + "\r\n" + header lines` (latin1),
/// `flags` the `wire::http` respond flags and header hints; then `body` (string, view or
/// null) and the end when `end`. False: past the high-water mark, or the request is gone.
#[napi]
#[allow(clippy::too_many_arguments)]
pub fn http_respond(
    env: Env,
    srv: u32,
    conn: u32,
    seq: u32,
    status: u32,
    #[napi(ts_arg_type = "string")] head: Unknown,
    flags: u32,
    #[napi(ts_arg_type = "string | ArrayBufferView | object | null | undefined")] body: Unknown,
    end: bool,
) -> Result<bool> {
    let js = http::from_js();
    SCRATCH.with(|s| {
        let (h, b) = &mut *s.borrow_mut();
        // SAFETY: arguments of this call, on the JS thread.
        unsafe { latin1(env.raw(), head.raw(), h)? };
        // SAFETY: as above.
        let body = unsafe { body_bytes(env.raw(), body.raw(), b)? };
        let (reason, headers) = http::batch::split_head(h);
        http::respond_to(
            &js, srv, conn, seq, status, reason, headers, flags, body, end,
        )
        .ok_or_else(gone)
    })
}

/// More body for response `seq` (`chunk`: string or view); the end when `end`.
#[napi]
pub fn http_write(
    env: Env,
    srv: u32,
    conn: u32,
    seq: u32,
    #[napi(ts_arg_type = "string | ArrayBufferView")] chunk: Unknown,
    end: bool,
) -> Result<bool> {
    let js = http::from_js();
    SCRATCH.with(|s| {
        let (_, b) = &mut *s.borrow_mut();
        // SAFETY: an argument of this call, on the JS thread.
        let data = unsafe { body_bytes(env.raw(), chunk.raw(), b)? }.unwrap_or(Body::Bytes(&[]));
        http::for_js(&js, srv, |s| {
            let hwm = s.limits.hwm;
            let Some(c) = s.conns.get_mut(&conn) else {
                return false;
            };
            let r = c.write(seq, data, end, hwm);
            s.touch(conn);
            r
        })
        .ok_or_else(gone)
    })
}

fn on_conn(js: &http::FromJs, srv: u32, conn: u32, f: impl FnOnce(&mut http::Conn)) -> Result<()> {
    http::for_js(js, srv, |s| {
        if let Some(c) = s.conns.get_mut(&conn) {
            f(c);
            s.touch(conn);
        }
    });
    Ok(())
}

/// Trailer lines for response `seq` (`name: value\r\n`..., latin1 bytes validated by the
/// caller), sent in its last chunk when its body is chunked.
#[napi]
pub fn http_trailers(srv: u32, conn: u32, seq: u32, lines: Buffer) -> Result<()> {
    let js = http::from_js();
    on_conn(&js, srv, conn, |c| c.set_trailers(seq, &lines))
}

/// `100 Continue` for the connection's newest request.
#[napi]
pub fn http_continue(srv: u32, conn: u32) -> Result<()> {
    let js = http::from_js();
    on_conn(&js, srv, conn, http::Conn::continue_)
}

/// Stops (`paused`) or restarts receiving on `conn`.
#[napi]
pub fn http_pause(srv: u32, conn: u32, paused: bool) -> Result<()> {
    let js = http::from_js();
    on_conn(&js, srv, conn, |c| c.paused = paused)
}

/// Asks for a drain record once `conn`'s unsent bytes fall below the mark. Returns false when
/// they already are (no record will come).
#[napi]
pub fn http_want_drain(srv: u32, conn: u32) -> Result<bool> {
    let js = http::from_js();
    Ok(http::for_js(&js, srv, |s| {
        let hwm = s.limits.hwm;
        match s.conns.get_mut(&conn) {
            Some(c) if c.pending_bytes() >= hwm && c.dying.is_none() => {
                c.drain_wanted = true;
                true
            }
            _ => false,
        }
    })
    .unwrap_or(false))
}

/// Closes `conn` now; its close record follows.
#[napi]
pub fn http_destroy(srv: u32, conn: u32) -> Result<()> {
    let js = http::from_js();
    on_conn(&js, srv, conn, |c| c.destroy())
}

/// Takes an upgraded connection out of the engine: its descriptor (-1 if it cannot be).
#[napi]
pub fn http_detach(srv: u32, conn: u32) -> Result<i32> {
    let js = http::from_js();
    Ok(http::for_js(&js, srv, |s| http::detach(s, conn)).unwrap_or(-1))
}

/// The descriptor of `conn` (addresses), or -1.
#[napi]
pub fn http_conn_fd(srv: u32, conn: u32) -> Result<i32> {
    let js = http::from_js();
    Ok(http::for_js(&js, srv, |s| s.conns.get(&conn).map_or(-1, |c| c.fd)).flatten_or())
}

trait FlattenOr {
    fn flatten_or(self) -> i32;
}
impl FlattenOr for Option<i32> {
    fn flatten_or(self) -> i32 {
        self.unwrap_or(-1)
    }
}

/// Stops accepting; idle connections close, busy ones after their response. Returns the
/// connections left.
#[napi]
pub fn http_close(srv: u32) -> Result<u32> {
    let js = http::from_js();
    runtime::with(|_| {
        Ok(http::for_js(&js, srv, |s| {
            s.close();
            s.conns.len() as u32
        })
        .unwrap_or(0))
    })
}

/// Closes connections: every one (`all`), or the idle ones.
#[napi]
pub fn http_close_connections(srv: u32, all: bool) -> Result<()> {
    let js = http::from_js();
    http::for_js(&js, srv, |s| {
        let ids: Vec<u32> = s
            .conns
            .iter()
            .filter(|(_, c)| all || c.idle())
            .map(|(k, _)| *k)
            .collect();
        for k in ids {
            if let Some(c) = s.conns.get_mut(&k) {
                if all {
                    c.destroy();
                } else {
                    c.die(crate::wire::http::ERR_NONE, 0);
                }
            }
            s.touch(k);
        }
    });
    Ok(())
}

/// Open connections.
#[napi]
pub fn http_connections(srv: u32) -> Result<u32> {
    let js = http::from_js();
    Ok(http::for_js(&js, srv, |s| s.conns.len() as u32).unwrap_or(0))
}

/// Closes timed-out connections (called by a timer of the façade).
#[napi]
pub fn http_sweep(srv: u32) -> Result<()> {
    let js = http::from_js();
    http::for_js(&js, srv, http::Server::sweep);
    Ok(())
}

/// Whether `Upgrade` requests switch protocols from now on (createServer(): whether the server
/// has an `'upgrade'` listener, which node:http asks at each such request).
#[napi]
pub fn http_set_upgrades(srv: u32, upgrades: bool) -> Result<()> {
    let js = http::from_js();
    http::for_js(&js, srv, |s| s.limits.upgrades = upgrades);
    Ok(())
}

/// Whether the server's listener keeps the loop alive.
#[napi]
pub fn http_ref(srv: u32, referenced: bool) -> Result<()> {
    let js = http::from_js();
    runtime::with(|rt| {
        if let Some(Some(key)) = http::for_js(&js, srv, |s| {
            s.referenced = referenced;
            s.accept_key()
        }) {
            rt.set_op_ref(key, referenced);
        }
        Ok(())
    })
}

/// Sends `length` bytes of file `fd` from `offset` as the body of response `seq` (its head
/// written, the response not ended), read on the ring; ends the response when `end`. A
/// `REC_FILE_DONE` record follows. False: the request is gone, the response is not open for
/// body bytes, or another file is in progress on the connection.
#[napi]
#[allow(clippy::too_many_arguments)]
pub fn http_send_file(
    srv: u32,
    conn: u32,
    seq: u32,
    fd: i32,
    offset: f64,
    length: f64,
    end: bool,
) -> Result<bool> {
    let js = http::from_js();
    let fd = crate::args::fd(fd)?;
    let whole = |v: f64, name: &str| {
        if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v <= 9_007_199_254_740_991.0 {
            Ok(v as u64)
        } else {
            Err(js::error(
                codes::OUT_OF_RANGE,
                format!("boros: the file {name} must be a non-negative integer"),
            ))
        }
    };
    let (offset, length) = (whole(offset, "offset")?, whole(length, "length")?);
    http::for_js(&js, srv, |s| {
        let Some(c) = s.conns.get_mut(&conn) else {
            return false;
        };
        let ok = c.send_file(seq, fd, offset, length, end);
        s.touch(conn);
        ok
    })
    .ok_or_else(gone)
}
