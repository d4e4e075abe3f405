//! Owned buffers: ops take a buffer by value and give it back with the result, so the kernel
//! never writes into memory anyone else can reach or free. Any [`IoBuf`]/[`IoBufMut`] of the
//! core works (`Vec<u8>`, `Box<[u8]>`, `&'static [u8]`, [`FixedBuf`](crate::fixed::FixedBuf));
//! [`Slice`] lends part of one.

pub use boros::buf::{IoBuf, IoBufMut};

/// After a read of `n` bytes into `buf` from its start: a `Vec<u8>` gets length `n` exactly.
/// (`IoBufMut::set_init` only ever grows a `Vec`, so a reused `Vec` longer than the read
/// would keep stale bytes past `n`.) Other buffer types keep their own rule: a `Box<[u8]>`
/// has a fixed length, a [`FixedBuf`](crate::fixed::FixedBuf) already takes `n`.
pub(crate) fn set_read_len<B: IoBufMut>(buf: &mut B, n: usize) {
    if let Some(v) = (buf as &mut dyn std::any::Any).downcast_mut::<Vec<u8>>() {
        v.truncate(n);
    }
}

/// A window `[begin, end)` of an owned buffer, itself an owned buffer. A read into a `Slice`
/// fills the window from `begin`; a write from it writes the window's initialized bytes.
/// [`into_inner`](Self::into_inner) gives the whole buffer back.
#[derive(Debug)]
pub struct Slice<B> {
    buf: B,
    begin: usize,
    end: usize,
}

impl<B: IoBuf> Slice<B> {
    /// The window `[begin, end)` of `buf`. For a buffer the kernel reads from, `end` is
    /// clamped to the buffer's initialized bytes; for one it writes into, [`IoBufMut`] uses
    /// its capacity.
    ///
    /// # Panics
    /// If `begin > end`.
    pub fn new(buf: B, begin: usize, end: usize) -> Self {
        assert!(begin <= end, "Slice: begin {begin} > end {end}");
        Self { buf, begin, end }
    }

    /// The start of the window in the buffer.
    pub fn begin(&self) -> usize {
        self.begin
    }

    /// The end of the window in the buffer.
    pub fn end(&self) -> usize {
        self.end
    }

    /// The whole buffer.
    pub fn into_inner(self) -> B {
        self.buf
    }
}

// SAFETY: the pointer is inside the inner buffer's stable memory (begin is clamped to its
// initialized bytes), and the length never passes them.
unsafe impl<B: IoBuf> IoBuf for Slice<B> {
    fn stable_ptr(&self) -> *const u8 {
        let begin = self.begin.min(self.buf.bytes_init());
        // SAFETY: begin <= bytes_init, inside the allocation.
        unsafe { self.buf.stable_ptr().add(begin) }
    }
    fn bytes_init(&self) -> usize {
        let init = self.buf.bytes_init();
        self.end.min(init).saturating_sub(self.begin.min(init))
    }
}

// SAFETY: the window is clamped to the inner buffer's capacity; `set_init` marks bytes of
// the inner buffer up to `begin + n`, which the caller promises are initialized (the bytes
// before `begin` must already be, see `set_init`).
unsafe impl<B: IoBufMut> IoBufMut for Slice<B> {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        let begin = self.begin.min(self.buf.bytes_total());
        // SAFETY: begin <= capacity, inside (or one past) the allocation.
        unsafe { self.buf.stable_mut_ptr().add(begin) }
    }
    fn bytes_total(&self) -> usize {
        let total = self.buf.bytes_total();
        self.end.min(total).saturating_sub(self.begin.min(total))
    }
    /// Marks `begin + n` bytes of the inner buffer initialized. Only sound when the bytes
    /// before `begin` already are (true for `Box<[u8]>`, and for a `Vec` filled in order, as
    /// [`File::read_exact_at`](crate::fs::File::read_exact_at) does).
    unsafe fn set_init(&mut self, n: usize) {
        if self.buf.bytes_init() >= self.begin {
            // SAFETY: the caller initialized `n` bytes from `begin`; the bytes before it are.
            unsafe { self.buf.set_init(self.begin + n) }
        }
    }
}
