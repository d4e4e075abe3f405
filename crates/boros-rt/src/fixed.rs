//! Registered buffers: memory the kernel pinned once, so reads and writes skip pinning and
//! mapping pages per op (`READ_FIXED`/`WRITE_FIXED`). Fixed files (direct descriptors) are
//! opened with [`OpenOptions::fixed`](crate::fs::OpenOptions::fixed).
//!
//! Registration counts against `RLIMIT_MEMLOCK` and the memory cgroup: when the kernel says
//! no (`ENOMEM`), [`FixedBufPool::new`] returns the error and a program uses plain buffers
//! (`Vec<u8>`) with the same `File` methods.

use crate::buf::{IoBuf, IoBufMut};
use crate::runtime::with_current;
use std::cell::RefCell;
use std::rc::Rc;
use std::{fmt, io};

struct PoolInner {
    /// The driver's queue of buffer ranges to empty (it empties them before its next push).
    releases: boros::Releases,
    first: u16,
    count: usize,
    free: RefCell<Vec<(Vec<u8>, u16)>>,
}

impl Drop for PoolInner {
    /// Runs once every buffer is back (each [`FixedBuf`], even one inside an op in flight,
    /// holds the pool): unregister first, free the memory after.
    /// Queued, not done here: the pool may go inside a reap, with the driver borrowed (the
    /// emptying was then skipped, and the slots lost). If the runtime is gone, so is its ring,
    /// and the registration with it.
    fn drop(&mut self) {
        let memory = std::mem::take(&mut *self.free.borrow_mut());
        self.releases
            .release_buffers(self.first, self.count, memory);
    }
}

/// A set of equal buffers registered with the runtime's ring.
#[derive(Clone)]
pub struct FixedBufPool {
    inner: Rc<PoolInner>,
}

impl fmt::Debug for FixedBufPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FixedBufPool")
            .field("first", &self.inner.first)
            .field("count", &self.inner.count)
            .field("free", &self.inner.free.borrow().len())
            .finish()
    }
}

impl FixedBufPool {
    /// Allocates `count` buffers of `size` bytes and registers them with the ring of the
    /// runtime running on this thread.
    ///
    /// # Errors
    /// The kernel's refusal (`ENOMEM` over `RLIMIT_MEMLOCK`...), or a full buffer table.
    ///
    /// # Panics
    /// Outside [`Runtime::block_on`](crate::Runtime::block_on).
    pub fn new(count: usize, size: usize) -> io::Result<Self> {
        with_current("fixed::FixedBufPool::new", |core| {
            let mut bufs: Vec<Vec<u8>> = (0..count).map(|_| vec![0u8; size]).collect();
            let iovecs: Vec<libc::iovec> = bufs
                .iter_mut()
                .map(|b| libc::iovec {
                    iov_base: b.as_mut_ptr().cast(),
                    iov_len: b.len(),
                })
                .collect();
            // SAFETY: each Vec's heap block never moves (buffers travel by value and come
            // back), and is freed only once the driver emptied their slots (`PoolInner::drop` hands
            // the buffers over with the emptying), which is queued once no `FixedBuf` (so no
            // op using one) exists.
            let first = unsafe { core.driver.borrow_mut().register_buffers(&iovecs) }.map_err(
                |e| match e {
                    boros::RegisterError::Kernel(e) => e,
                    e => io::Error::other(e.to_string()),
                },
            )?;
            let free = bufs
                .into_iter()
                .enumerate()
                .map(|(i, b)| (b, first + i as u16))
                .rev()
                .collect();
            Ok(Self {
                inner: Rc::new(PoolInner {
                    releases: core.driver.borrow().releases(),
                    first,
                    count,
                    free: RefCell::new(free),
                }),
            })
        })
    }

    /// A free buffer, or `None` if all are in use.
    pub fn take(&self) -> Option<FixedBuf> {
        let (buf, index) = self.inner.free.borrow_mut().pop()?;
        Some(FixedBuf {
            buf: Some(buf),
            index,
            pool: self.inner.clone(),
        })
    }

    /// Buffers not in use.
    pub fn available(&self) -> usize {
        self.inner.free.borrow().len()
    }
}

/// One registered buffer, taken from a [`FixedBufPool`]; it goes back to the pool when
/// dropped. Its length starts at the buffer's full size (zeroed); a read sets it to the
/// bytes read, [`set_len`](Self::set_len) to what a write should send.
pub struct FixedBuf {
    buf: Option<Vec<u8>>,
    index: u16,
    pool: Rc<PoolInner>,
}

impl fmt::Debug for FixedBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FixedBuf")
            .field("index", &self.index)
            .field("len", &self.vec().len())
            .finish()
    }
}

impl FixedBuf {
    fn vec(&self) -> &Vec<u8> {
        self.buf.as_ref().expect("present until drop")
    }

    fn vec_mut(&mut self) -> &mut Vec<u8> {
        self.buf.as_mut().expect("present until drop")
    }

    /// Its index in the ring's buffer table.
    pub fn buf_index(&self) -> u16 {
        self.index
    }

    /// The registered size.
    pub fn capacity(&self) -> usize {
        self.vec().capacity()
    }

    /// Sets how many bytes hold data (at most the capacity; the memory is always initialized).
    pub fn set_len(&mut self, len: usize) {
        let v = self.vec_mut();
        let len = len.min(v.capacity());
        // SAFETY: the whole registered block was zeroed at allocation, so every byte up to
        // the capacity is initialized.
        unsafe { v.set_len(len) };
    }
}

impl std::ops::Deref for FixedBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.vec()
    }
}

impl std::ops::DerefMut for FixedBuf {
    fn deref_mut(&mut self) -> &mut [u8] {
        self.vec_mut()
    }
}

impl Drop for FixedBuf {
    fn drop(&mut self) {
        if let Some(mut b) = self.buf.take() {
            let cap = b.capacity();
            // SAFETY: as in `set_len`: the block is initialized up to its capacity.
            unsafe { b.set_len(cap) };
            self.pool.free.borrow_mut().push((b, self.index));
        }
    }
}

// SAFETY: the Vec's heap block is stable and lives as long as the pool, which this buffer
// keeps alive.
unsafe impl IoBuf for FixedBuf {
    fn stable_ptr(&self) -> *const u8 {
        self.vec().as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.vec().len()
    }
}

// SAFETY: as above; every byte up to the capacity is initialized memory.
unsafe impl IoBufMut for FixedBuf {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.vec_mut().as_mut_ptr()
    }
    fn bytes_total(&self) -> usize {
        self.vec().capacity()
    }
    unsafe fn set_init(&mut self, n: usize) {
        self.set_len(n);
    }
}
