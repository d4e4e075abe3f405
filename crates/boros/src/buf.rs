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

/// The size of a memory page.
pub(crate) fn page_size() -> usize {
    // SAFETY: sysconf takes no pointer; a failure (-1) falls back to 4 KiB.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if n > 0 {
        n as usize
    } else {
        4096
    }
}

/// One anonymous private mapping (`mmap(MAP_PRIVATE | MAP_ANONYMOUS)`), zero-filled by the
/// kernel on first touch and unmapped on drop. The one type behind every mapping boros makes:
/// provided-buffer rings, registered buffer pools, large owned buffers.
pub struct Mapping {
    ptr: *mut u8,
    len: usize,
}

impl Mapping {
    /// Maps `len` (> 0) bytes, readable and writable.
    pub fn new(len: usize) -> std::io::Result<Self> {
        if len == 0 {
            return Err(std::io::Error::from_raw_os_error(libc::EINVAL));
        }
        // SAFETY: an anonymous private mapping takes no pointer from us; the result is checked.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Self { ptr: p.cast(), len })
    }

    /// The first byte (page aligned).
    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr
    }

    /// Bytes mapped.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Never true: a mapping has at least one byte.
    pub fn is_empty(&self) -> bool {
        false
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: ptr/len are exactly what mmap returned, unmapped once. Owners keep the
        // mapping (in an `Rc` or a field) until no op and no borrower uses it any more.
        unsafe { libc::munmap(self.ptr.cast(), self.len) };
    }
}
