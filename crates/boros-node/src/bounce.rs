//! Recycled bounce buffers: the memory a read of a JS buffer lends the kernel instead of the
//! JS memory itself (which could be detached while the read is in flight).
//!
//! Every bounce buffer starts on a page boundary. The kernel fills it with `copy_to_user`,
//! which on CPUs with fast short `rep movsb` (FSRM: AMD Zen 3+, Intel Ice Lake+) copies with
//! one `rep movsb` and no alignment prologue; a destination that is not cache-line aligned
//! makes that copy several times slower on Zen (measured here: a 128 KiB read 23 µs with
//! glibc's 16-byte aligned `malloc` memory vs 12 µs page aligned, 66 % of the samples in
//! `_copy_to_iter`; docs/files-internals.md). A `Vec<u8>` of 128 KiB or more is an `mmap`
//! with malloc's 16-byte header in front of it, so it never is.

use boros::buf::{IoBuf, IoBufMut};
use std::alloc::{alloc, dealloc, handle_alloc_error, Layout};

/// The alignment of every bounce buffer: a page (also a cache line and any `rep movsb` width).
pub const ALIGN: usize = 4096;

/// A page-aligned heap buffer with a length (bytes the kernel wrote) and a fixed capacity.
pub struct Bounce {
    ptr: *mut u8,
    cap: usize,
    len: usize,
}

impl Bounce {
    /// A new buffer of `cap` bytes (at least 1), uninitialized.
    pub fn new(cap: usize) -> Self {
        let cap = cap.max(1);
        let layout = Layout::from_size_align(cap, ALIGN).expect("bounce buffer layout");
        // SAFETY: `layout` has a non-zero size.
        let ptr = unsafe { alloc(layout) };
        if ptr.is_null() {
            handle_alloc_error(layout)
        }
        Self { ptr, cap, len: 0 }
    }

    /// The bytes the kernel wrote.
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: the first `len` bytes are initialized (`set_init`), inside the allocation.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn capacity(&self) -> usize {
        self.cap
    }

    /// Forgets the contents (for reuse).
    pub fn clear(&mut self) {
        self.len = 0;
    }
}

impl Drop for Bounce {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this very layout.
        unsafe { dealloc(self.ptr, Layout::from_size_align_unchecked(self.cap, ALIGN)) }
    }
}

// SAFETY: the allocation is fixed for the life of the value (it moves with it, the memory does
// not); the first `len` bytes are initialized.
unsafe impl IoBuf for Bounce {
    fn stable_ptr(&self) -> *const u8 {
        self.ptr
    }
    fn bytes_init(&self) -> usize {
        self.len
    }
}

// SAFETY: as above; all `cap` bytes are writable memory of the allocation.
unsafe impl IoBufMut for Bounce {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.ptr
    }
    fn bytes_total(&self) -> usize {
        self.cap
    }
    unsafe fn set_init(&mut self, n: usize) {
        if n > self.len {
            self.len = n.min(self.cap);
        }
    }
}

/// Recycled bounce buffers, by power-of-two size class from 4 KiB to 1 MiB.
pub struct BounceBuffers {
    classes: Vec<Vec<Bounce>>,
}

const MIN_SHIFT: u32 = 12;
/// Largest bounce buffer kept for reuse (the façade reads more in chunks of this size).
pub const MAX_SHIFT: u32 = crate::wire::BOUNCE_MAX.trailing_zeros();
const KEEP_PER_CLASS: usize = 256;

impl Default for BounceBuffers {
    fn default() -> Self {
        Self {
            classes: (MIN_SHIFT..=MAX_SHIFT).map(|_| Vec::new()).collect(),
        }
    }
}

impl BounceBuffers {
    fn class(len: usize) -> Option<usize> {
        let shift = len.max(1 << MIN_SHIFT).next_power_of_two().trailing_zeros();
        (shift <= MAX_SHIFT).then(|| (shift - MIN_SHIFT) as usize)
    }

    /// An empty page-aligned buffer with capacity for at least `len` bytes.
    pub fn take(&mut self, len: usize) -> Bounce {
        match Self::class(len) {
            Some(c) => self.classes[c]
                .pop()
                .unwrap_or_else(|| Bounce::new(1 << (c as u32 + MIN_SHIFT))),
            None => Bounce::new(len),
        }
    }

    /// Gives a buffer back for reuse (kept only if it is exactly a size class).
    pub fn put(&mut self, mut v: Bounce) {
        v.clear();
        if let Some(c) = Self::class(v.capacity()) {
            if v.capacity() == 1 << (c as u32 + MIN_SHIFT) && self.classes[c].len() < KEEP_PER_CLASS
            {
                self.classes[c].push(v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bounce_buffer_is_page_aligned_and_recycled() {
        let mut b = BounceBuffers::default();
        for len in [1, 4096, 5000, 128 * 1024, 1 << 20, (1 << 20) + 1] {
            let v = b.take(len);
            assert_eq!(v.stable_ptr() as usize % ALIGN, 0, "len {len}");
            assert!(v.capacity() >= len);
            let p = v.stable_ptr();
            let recyclable = len <= 1 << MAX_SHIFT;
            b.put(v);
            let again = b.take(len);
            if recyclable {
                assert_eq!(again.stable_ptr(), p, "len {len}: recycled");
            }
            assert_eq!(again.stable_ptr() as usize % ALIGN, 0, "len {len}");
            assert!(again.is_empty());
        }
    }

    #[test]
    fn set_init_never_exceeds_capacity() {
        let mut v = Bounce::new(4096);
        // SAFETY: all 4096 bytes of the allocation are written first, as the kernel would.
        unsafe { std::ptr::write_bytes(v.stable_mut_ptr(), 7, 4096) };
        // SAFETY: every byte is initialized (above); what is checked is that set_init clamps to
        // the capacity, so no byte past the allocation is ever claimed initialized.
        unsafe { v.set_init(10_000) };
        assert_eq!(v.len(), 4096);
        assert_eq!(v.as_slice().len(), 4096);
    }
}
