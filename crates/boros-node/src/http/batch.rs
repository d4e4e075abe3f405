//! The response queue: how a turn's responses reach the engine without an N-API call each
//! (the HTTP twin of the file ops' shared submission queue, `crate::queue`).
//!
//! The façade (`src-ts/http/respond-queue.ts`) hands over two pieces of memory once
//! ([`init`]): a `Uint32Array` of control words and response records, and a byte slab. A
//! response that ends in the call that starts it (`serve()`'s `Response`, `res.end(body)`) is
//! one record naming its head (an id from [`add_head`], registered once per distinct head, or
//! bytes in the slab) and its body's bytes in the slab. [`drain`] applies the records in order,
//! exactly as `http_respond` would have: the engine calls it before each flush (so the turn's
//! responses still leave as one send per connection) and every other engine call runs it first
//! (so the order of calls on a connection is the order JS made them).
//!
//! Only the façade can reach the two buffers (module-private, never transferred), and the
//! strong references keep them alive until [`release`]; every number read is checked again
//! before it becomes an offset.

use super::out::Body;
use crate::js::{self, codes, Result};
use crate::wire::http as w;
use napi::sys;
use std::cell::RefCell;
use std::ptr;

struct Shared {
    env: sys::napi_env,
    refs: [sys::napi_ref; 2],
    words: *mut u32,
    records: usize,
    slab: *const u8,
    slab_len: usize,
}

/// A registered head: its reason phrase and header lines.
struct Head {
    reason: String,
    headers: Vec<u8>,
}

thread_local! {
    /// The façade's queues (one per copy of `respond-queue.ts` loaded in this thread).
    static QUEUES: RefCell<Vec<Shared>> = const { RefCell::new(Vec::new()) };
    static HEADS: RefCell<Vec<Head>> = const { RefCell::new(Vec::new()) };
}

const CTL: usize = w::RQ_CTL_WORDS as usize;
const WORDS: usize = w::RQ_WORDS as usize;

/// `reason + "\r\n" + header lines` split as `http_respond` takes them.
pub fn split_head(h: &[u8]) -> (&str, &[u8]) {
    let split = h.windows(2).position(|w| w == b"\r\n").unwrap_or(h.len());
    let reason = std::str::from_utf8(&h[..split]).unwrap_or("");
    (reason, &h[(split + 2).min(h.len())..])
}

/// Pins the façade's record words and slab (once per pair: the façade calls this for each
/// server it starts; a second copy of the façade in the thread gets a queue of its own).
///
/// # Safety
/// On the JS thread of `env`, with values of the current call.
pub unsafe fn init(
    env: sys::napi_env,
    words: sys::napi_value,
    slab: sys::napi_value,
) -> Result<()> {
    // SAFETY: forwarded contract.
    let (wp, wlen) = unsafe { js::view_info(env, words)? };
    // SAFETY: as above.
    let (sp, slen) = unsafe { js::view_info(env, slab)? };
    if wlen < 4 * (CTL + WORDS) || wp as usize % 4 != 0 {
        return Err(js::error(
            codes::INVALID_ARG_VALUE,
            "boros: response queue words too small or misaligned",
        ));
    }
    if QUEUES.with(|c| c.borrow().iter().any(|q| q.words == wp.cast())) {
        return Ok(());
    }
    let mut refs = [ptr::null_mut(); 2];
    for (r, v) in refs.iter_mut().zip([words, slab]) {
        // SAFETY: valid env/value; the out-pointer is a local slot. The strong reference keeps
        // the memory alive until `release`.
        unsafe { sys::napi_create_reference(env, v, 1, r) };
    }
    let q = Shared {
        env,
        refs,
        words: wp.cast(),
        records: (wlen / 4 - CTL) / WORDS,
        slab: sp,
        slab_len: slen,
    };
    QUEUES.with(|c| c.borrow_mut().push(q));
    Ok(())
}

impl Shared {
    /// # Safety
    /// On the JS thread of `self.env`, while it is alive.
    unsafe fn release(self) {
        for r in self.refs {
            // SAFETY: references made in `init` in this env, deleted once.
            unsafe { sys::napi_delete_reference(self.env, r) };
        }
    }
}

/// Forgets the queues (the runtime is closing: their references are released while the env
/// lives; a server started later registers its queue again).
pub fn release() {
    for q in QUEUES.with(|c| std::mem::take(&mut *c.borrow_mut())) {
        // Records left name servers that are gone (and whose ids a later server reuses).
        // SAFETY: `words` is still pinned (released below); JS is not running.
        unsafe {
            q.words.add(w::RQ_QUEUED as usize).write(0);
            q.words.add(w::RQ_USED as usize).write(0);
        }
        // SAFETY: called while the env is still alive, on its thread (`super::drop_all`).
        unsafe { q.release() }
    }
}

/// Registers head `h` (`reason + "\r\n" + header lines`); returns its id.
pub fn add_head(h: &[u8]) -> u32 {
    let (reason, headers) = split_head(h);
    let head = Head {
        reason: reason.to_owned(),
        headers: headers.to_vec(),
    };
    HEADS.with(|v| {
        let mut v = v.borrow_mut();
        v.push(head);
        (v.len() - 1) as u32
    })
}

/// Applies every queued response (see the module's comment).
pub fn drain() {
    QUEUES.with(|c| {
        for q in c.borrow().iter() {
            q.drain();
        }
    });
}

impl Shared {
    fn drain(&self) {
        // SAFETY: `words` is pinned, 4-byte aligned and holds CTL + records * WORDS words; only
        // this thread runs JS and us, and JS is not running while we are.
        let ctl = unsafe { std::slice::from_raw_parts_mut(self.words, CTL) };
        let n = (ctl[w::RQ_QUEUED as usize] as usize).min(self.records);
        if n == 0 {
            return;
        }
        // SAFETY: as above; n <= records.
        let recs = unsafe { std::slice::from_raw_parts(self.words.add(CTL), n * WORDS) };
        // SAFETY: the slab is pinned for `slab_len` bytes; JS does not run during the drain.
        let slab = unsafe { std::slice::from_raw_parts(self.slab, self.slab_len) };
        HEADS.with(|heads| {
            let heads = heads.borrow();
            for r in recs.chunks_exact(WORDS) {
                apply(r, slab, &heads);
            }
        });
        ctl[w::RQ_QUEUED as usize] = 0;
        ctl[w::RQ_USED as usize] = 0;
    }
}

fn bytes(slab: &[u8], off: u32, len: u32) -> &[u8] {
    let (off, len) = (off as usize, len as usize);
    slab.get(off..off.saturating_add(len)).unwrap_or(&[])
}

fn apply(r: &[u32], slab: &[u8], heads: &[Head]) {
    let f = |i: i64| r[i as usize];
    let bits = f(w::RQ_BITS);
    let has = |b: i64| bits & b as u32 != 0;
    let (reason, headers) = if has(w::RQ_INLINE) {
        split_head(bytes(slab, f(w::RQ_HEAD_OFF), f(w::RQ_HEAD_LEN)))
    } else {
        match heads.get(f(w::RQ_HEAD) as usize) {
            Some(h) => (h.reason.as_str(), &h.headers[..]),
            None => ("", &[][..]),
        }
    };
    let body =
        has(w::RQ_BODY).then(|| Body::Bytes(bytes(slab, f(w::RQ_BODY_OFF), f(w::RQ_BODY_LEN))));
    // The drain itself: each record goes in in queue order, as a call from JS would.
    super::respond_to(
        &super::FromJs(()),
        f(w::RQ_SRV),
        f(w::RQ_CONN),
        f(w::RQ_SEQ),
        f(w::RQ_STATUS),
        reason,
        headers,
        f(w::RQ_FLAGS),
        body,
        has(w::RQ_END),
    );
}
