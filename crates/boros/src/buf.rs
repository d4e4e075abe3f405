//! Buffers the kernel may read or write.
//!
//! An operation takes its buffer by value and gives it back with the completion: while the
//! op is in flight nobody else can reach the memory, and the memory cannot be freed, because
//! the op owns it. These traits say what a buffer type must promise for that to hold.

/// A buffer the kernel may read from.
///
/// # Safety
/// `stable_ptr` must point to `bytes_init` readable bytes that stay valid and at the same
/// address for as long as the value lives, even if the value itself is moved.
pub unsafe trait IoBuf: 'static {
    /// Start of the memory.
    fn stable_ptr(&self) -> *const u8;
    /// How many bytes, from `stable_ptr`, hold data.
    fn bytes_init(&self) -> usize;
}

/// A buffer the kernel may write into.
///
/// # Safety
/// As for [`IoBuf`], and `stable_mut_ptr` must point to `bytes_total` writable bytes.
pub unsafe trait IoBufMut: IoBuf {
    /// Start of the writable memory.
    fn stable_mut_ptr(&mut self) -> *mut u8;
    /// Capacity in bytes.
    fn bytes_total(&self) -> usize;
    /// Records that the kernel initialized the first `n` bytes.
    ///
    /// # Safety
    /// The first `n` bytes must really be initialized.
    unsafe fn set_init(&mut self, n: usize);
}

// SAFETY: a Vec's heap allocation does not move when the Vec value moves; we never grow it
// while it is lent to the kernel (the op owns it).
unsafe impl IoBuf for Vec<u8> {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len()
    }
}

// SAFETY: see `IoBuf for Vec<u8>`; `spare capacity` is writable memory of the allocation.
unsafe impl IoBufMut for Vec<u8> {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.as_mut_ptr()
    }
    fn bytes_total(&self) -> usize {
        self.capacity()
    }
    unsafe fn set_init(&mut self, n: usize) {
        if n > self.len() {
            // SAFETY: the caller promises the first `n` bytes are initialized; n <= capacity.
            unsafe { self.set_len(n) }
        }
    }
}

// SAFETY: a boxed slice's heap memory is fixed for the life of the box.
unsafe impl IoBuf for Box<[u8]> {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len()
    }
}

// SAFETY: as above; every byte of a boxed slice is initialized already.
unsafe impl IoBufMut for Box<[u8]> {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.as_mut_ptr()
    }
    fn bytes_total(&self) -> usize {
        self.len()
    }
    unsafe fn set_init(&mut self, _n: usize) {}
}

// SAFETY: 'static data never moves or goes away.
unsafe impl IoBuf for &'static [u8] {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len()
    }
}
