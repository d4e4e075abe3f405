//! A connection's unsent output beyond its byte buffer: pieces that leave before the bytes
//! appended since (`Conn::out`). A piece is bytes the engine owns (a head, a sealed output
//! buffer, a file's bytes read on the ring) or a large JS body lent by reference, which the
//! kernel reads in place: no copy into the output (`LEND_MIN`), or a body `serve()` copied into
//! engine memory when its `Response` was built (a held body, [`hold`]). A send of several pieces
//! is one `sendmsg`; a short send leaves the rest as pieces again, in order.

use crate::js::JsBuf;
use boros::buf::IoBuf;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

/// A held body's bytes: immutable once held, so responses whose bodies were the same bytes
/// share one copy (see [`hold`]).
pub type Shared = Rc<Vec<u8>>;

/// Bodies (ArrayBufferViews) from this size on are sent from the caller's memory instead of
/// being copied into the connection's output (chosen by measurement: see docs/http.md).
pub const LEND_MIN: usize = 16 * 1024;

/// [`LEND_MIN`], or `BOROS_HTTP_LEND_MIN` (bytes) when set: for measuring the threshold.
pub fn lend_min() -> usize {
    use std::sync::OnceLock;
    static MIN: OnceLock<usize> = OnceLock::new();
    *MIN.get_or_init(|| {
        std::env::var("BOROS_HTTP_LEND_MIN")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(LEND_MIN)
    })
}

/// Pieces one `sendmsg` takes at most (the kernel's limit is `UIO_MAXIOV`, 1024).
pub const MAX_IOV: usize = 64;

/// Held bodies kept for reuse at most.
const POOL_LEN: usize = 128;
/// Recent held bodies a new one is compared with ([`hold`]).
const RECENT_LEN: usize = 4;
/// Bodies larger than this are never shared (nor kept as recent: they would stay alive).
const SHARE_MAX: usize = 1 << 20;
/// Bytes (capacities) the pool keeps at most, per thread.
const POOL_MAX_TOTAL: usize = 8 << 20;

/// Memory of held bodies that went out, for the next ones, and its total capacity.
struct Pool {
    free: Vec<Vec<u8>>,
    total: usize,
}

thread_local! {
    /// A steady stream of large responses then allocates nothing (no malloc growing and
    /// trimming its heap per body).
    static POOL: RefCell<Pool> = const { RefCell::new(Pool { free: Vec::new(), total: 0 }) };
    /// The last few distinct bodies held, newest first.
    static RECENT: RefCell<Vec<Shared>> = const { RefCell::new(Vec::new()) };
}

/// A copy of `bytes` in engine memory: one of the recent held bodies when it has the same
/// bytes (a static body returned by every response is then compared, not copied, and every
/// send reads the same cache-warm memory, as node:http's sends of the caller's Buffer do),
/// else a new copy (pool memory when the pool has a large enough buffer). The bytes are
/// never written again once held, so sharing them is the copy semantics Fetch asks for.
pub fn hold(bytes: &[u8]) -> Shared {
    let share = bytes.len() <= SHARE_MAX;
    if share {
        let hit = RECENT.with(|r| {
            let mut r = r.borrow_mut();
            let i = r.iter().position(|h| h.as_slice() == bytes)?;
            let h = r.remove(i);
            r.insert(0, Rc::clone(&h));
            Some(h)
        });
        if let Some(h) = hit {
            return h;
        }
    }
    let mut v = POOL
        .with(|p| {
            let mut p = p.borrow_mut();
            let i = p.free.iter().rposition(|v| v.capacity() >= bytes.len())?;
            let v = p.free.swap_remove(i);
            p.total -= v.capacity();
            Some(v)
        })
        .unwrap_or_default();
    v.clear();
    v.extend_from_slice(bytes);
    let h = Rc::new(v);
    if share {
        let old = RECENT.with(|r| {
            let mut r = r.borrow_mut();
            r.insert(0, Rc::clone(&h));
            (r.len() > RECENT_LEN).then(|| r.pop()).flatten()
        });
        if let Some(old) = old {
            give(old);
        }
    }
    h
}

/// Lets go of a held body: its memory goes back to the pool (or is freed) once nothing else
/// (another response, the recent list) shares it.
pub fn give(h: Shared) {
    let Ok(v) = Rc::try_unwrap(h) else { return };
    POOL.with(|p| {
        let mut p = p.borrow_mut();
        if p.free.len() < POOL_LEN && p.total + v.capacity() <= POOL_MAX_TOTAL {
            p.total += v.capacity();
            p.free.push(v);
        }
    });
}

/// A body JS gives: bytes to copy (valid during the call), a large view to lend, or a held
/// body (engine memory, see [`hold`]).
pub enum Body<'a> {
    Bytes(&'a [u8]),
    Lent(JsBuf),
    Held(Shared),
}

impl Body<'_> {
    pub fn len(&self) -> usize {
        match self {
            Body::Bytes(b) => b.len(),
            Body::Lent(b) => b.len(),
            Body::Held(v) => v.len(),
        }
    }

    /// The bytes (a lent view's are valid while the view is referenced).
    pub fn bytes(&self) -> &[u8] {
        match self {
            Body::Bytes(b) => b,
            Body::Held(v) => v.as_slice(),
            Body::Lent(b) if b.len() == 0 => &[],
            // SAFETY: the referenced view's memory is valid for its length while `b` lives.
            Body::Lent(b) => unsafe { std::slice::from_raw_parts(b.stable_ptr(), b.len()) },
        }
    }
}

/// Memory behind a piece.
pub enum Mem {
    Own(Vec<u8>),
    /// A held body: back to the pool once sent (and shared no more).
    Held(Shared),
    /// A JS view, referenced until the piece is dropped (after the send's last CQE; shared
    /// by the rest of a short zero-copy send, see [`rest_shared`]).
    Js(Rc<JsBuf>),
}

/// Unsent bytes `off..` of some memory.
pub struct Piece {
    pub mem: Mem,
    pub off: usize,
}

impl Piece {
    pub fn own(v: Vec<u8>) -> Self {
        Self {
            mem: Mem::Own(v),
            off: 0,
        }
    }

    pub fn held(v: Shared) -> Self {
        Self {
            mem: Mem::Held(v),
            off: 0,
        }
    }

    pub fn js(b: JsBuf) -> Self {
        Self {
            mem: Mem::Js(Rc::new(b)),
            off: 0,
        }
    }

    /// Whether this piece is a body worth a zero-copy send: a lent or held body of `min`
    /// bytes or more left.
    pub fn zc_worthy(&self, min: usize) -> bool {
        matches!(self.mem, Mem::Js(_) | Mem::Held(_)) && self.len() >= min
    }

    /// The same bytes in memory that can be shared ([`rest_shared`]): owned bytes move into a
    /// held buffer (which goes to the held-body pool once sent).
    pub fn shareable(self) -> Self {
        match self.mem {
            Mem::Own(v) => Self {
                mem: Mem::Held(Rc::new(v)),
                off: self.off,
            },
            mem => Self { mem, off: self.off },
        }
    }

    fn total(&self) -> usize {
        match &self.mem {
            Mem::Own(v) => v.len(),
            Mem::Held(v) => v.len(),
            Mem::Js(b) => b.len(),
        }
    }

    /// Bytes left to send.
    pub fn len(&self) -> usize {
        self.total() - self.off
    }
}

// SAFETY: an owned Vec's heap memory does not move when the Vec moves; a JsBuf's memory is
// kept alive by its reference (see `JsBuf`). `off <= total` always (only `advance` changes it).
unsafe impl IoBuf for Piece {
    fn stable_ptr(&self) -> *const u8 {
        let base = match &self.mem {
            Mem::Own(v) => v.as_ptr(),
            Mem::Held(v) => v.as_ptr(),
            Mem::Js(b) => b.stable_ptr(),
        };
        // SAFETY: off <= the memory's length.
        unsafe { base.add(self.off) }
    }
    fn bytes_init(&self) -> usize {
        self.len()
    }
}

/// Puts back what a zero-copy send of `pieces` left unsent (`sent` bytes went) at the front
/// of `queue`, in order, as new pieces sharing the memory: the send keeps its pieces (the
/// kernel may read them) until its notification. The pieces were made
/// [`shareable`](Piece::shareable), so nothing is copied.
pub fn rest_shared(pieces: &[Piece], mut sent: usize, queue: &mut VecDeque<Piece>) {
    let mut rest = Vec::new();
    for p in pieces {
        let n = p.len();
        if sent >= n {
            sent -= n;
            continue;
        }
        let mem = match &p.mem {
            Mem::Held(v) => Mem::Held(Rc::clone(v)),
            Mem::Js(b) => Mem::Js(Rc::clone(b)),
            Mem::Own(v) => Mem::Own(v[p.off + sent..].to_vec()),
        };
        let off = if matches!(mem, Mem::Own(_)) {
            0
        } else {
            p.off + sent
        };
        sent = 0;
        rest.push(Piece { mem, off });
    }
    for p in rest.into_iter().rev() {
        queue.push_front(p);
    }
}

/// Lets go of the pieces of a finished send: held memory back to the pool.
pub fn release(pieces: Vec<Piece>) {
    for p in pieces {
        if let Mem::Held(v) = p.mem {
            give(v);
        }
    }
}

/// Puts back what a send of `pieces` left unsent (`sent` bytes went) at the front of `queue`,
/// in order. Returns the largest owned buffer that was sent whole (for its capacity).
pub fn unsent(
    pieces: impl IntoIterator<Item = Piece>,
    mut sent: usize,
    queue: &mut VecDeque<Piece>,
) -> Option<Vec<u8>> {
    let mut spare: Option<Vec<u8>> = None;
    let mut rest = Vec::new();
    for mut p in pieces {
        let n = p.len();
        if sent >= n {
            sent -= n;
            match p.mem {
                Mem::Own(v) if spare.as_ref().is_none_or(|s| s.capacity() < v.capacity()) => {
                    spare = Some(v);
                }
                Mem::Held(v) => give(v),
                _ => {}
            }
            continue;
        }
        p.off += sent;
        sent = 0;
        rest.push(p);
    }
    for p in rest.into_iter().rev() {
        queue.push_front(p);
    }
    spare
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_memory_is_reused_and_the_pool_is_bounded() {
        // Bodies too large to share go back to the pool as soon as they are sent.
        let a = hold(&vec![7u8; SHARE_MAX + 1]);
        assert!(a.iter().all(|&x| x == 7));
        let ptr = a.as_ptr();
        give(a);
        // The next body that fits takes the same memory, with its own bytes.
        let b = hold(&vec![1u8; SHARE_MAX + 1]);
        assert!(b.iter().all(|&x| x == 1));
        assert_eq!(b.as_ptr(), ptr);
        give(b);
        // Past the byte bound, memory is freed rather than kept.
        let big = hold(&vec![0u8; POOL_MAX_TOTAL]);
        give(big);
        POOL.with(|p| {
            let p = p.borrow();
            assert!(p.total <= POOL_MAX_TOTAL);
            assert_eq!(p.total, p.free.iter().map(Vec::capacity).sum::<usize>());
            assert!(p.free.len() <= POOL_LEN);
        });
    }

    #[test]
    fn the_same_bytes_share_one_copy_and_other_bytes_do_not() {
        let mut src = vec![3u8; 5000];
        let a = hold(&src);
        let b = hold(&src);
        assert!(Rc::ptr_eq(&a, &b), "the same bytes: one copy");
        // A change after holding changes neither the held bytes nor what the next hold shares.
        src[4999] = 4;
        let c = hold(&src);
        assert!(!Rc::ptr_eq(&a, &c));
        assert_eq!(a.as_slice(), &[3u8; 5000][..]);
        assert_eq!(c[4999], 4);
        // The recent list is bounded: after RECENT_LEN other bodies, `a`'s bytes are copied again.
        for i in 0..RECENT_LEN {
            give(hold(&[i as u8; 10]));
        }
        let d = hold(&[3u8; 5000]);
        assert!(!Rc::ptr_eq(&a, &d));
        assert_eq!(d.as_slice(), a.as_slice());
        for h in [a, b, c, d] {
            give(h);
        }
        assert!(RECENT.with(|r| r.borrow().len()) <= RECENT_LEN);
    }
}
