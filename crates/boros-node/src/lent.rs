//! Memory lent to one op: a pointer and a length, and whatever keeps that memory alive until
//! the op's final CQE (the op owns the [`Lent`], and the driver owns the op until then). The one
//! [`IoBuf`] of the binding's own memory: arena slots (kept by the runtime), pool slices (kept
//! by an `Rc` of the pool), owned-buffer slices (kept by an `Rc` of the allocation).

use boros::buf::{IoBuf, IoBufMut};

/// `len` bytes at `ptr`, lent to one op, and `keep`, which keeps them alive.
pub struct Lent<K> {
    /// Held, never read: dropping it (after the op's final CQE) lets the memory go.
    _keep: K,
    ptr: *mut u8,
    len: usize,
}

impl<K: 'static> Lent<K> {
    /// Lends `ptr..ptr+len`.
    ///
    /// # Safety
    /// The bytes must be valid and writable, all initialized, and neither freed, moved nor
    /// lent to another op for as long as `keep` lives (the op keeps the `Lent`, and with it
    /// `keep`, until its final CQE).
    pub unsafe fn new(keep: K, ptr: *mut u8, len: usize) -> Self {
        Self {
            _keep: keep,
            ptr,
            len,
        }
    }
}

// SAFETY: `Lent::new`'s contract: the range stays valid and in place while `keep` lives, which
// is as long as this value lives, wherever it is moved.
unsafe impl<K: 'static> IoBuf for Lent<K> {
    fn stable_ptr(&self) -> *const u8 {
        self.ptr
    }
    fn bytes_init(&self) -> usize {
        self.len
    }
}

// SAFETY: as above; the range is writable and every byte of it initialized (`new`'s contract).
unsafe impl<K: 'static> IoBufMut for Lent<K> {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.ptr
    }
    fn bytes_total(&self) -> usize {
        self.len
    }
    unsafe fn set_init(&mut self, _n: usize) {}
}
