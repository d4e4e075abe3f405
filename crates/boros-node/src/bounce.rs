//! Recycled bounce buffers: the memory a read of a JS buffer lends the kernel instead of the
//! JS memory itself (which could be detached while the read is in flight).

/// Recycled bounce buffers, by power-of-two size class from 4 KiB to 1 MiB.
pub struct BounceBuffers {
    classes: Vec<Vec<Vec<u8>>>,
}

const MIN_SHIFT: u32 = 12;
/// Largest bounce buffer kept for reuse (the façade reads more in chunks of this size).
pub const MAX_SHIFT: u32 = 20;
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

    /// An empty Vec with capacity for at least `len` bytes.
    pub fn take(&mut self, len: usize) -> Vec<u8> {
        match Self::class(len) {
            Some(c) => self.classes[c]
                .pop()
                .unwrap_or_else(|| Vec::with_capacity(1 << (c as u32 + MIN_SHIFT))),
            None => Vec::with_capacity(len),
        }
    }

    /// Gives a buffer back for reuse (kept only if it is exactly a size class).
    pub fn put(&mut self, mut v: Vec<u8>) {
        v.clear();
        if let Some(c) = Self::class(v.capacity()) {
            if v.capacity() == 1 << (c as u32 + MIN_SHIFT) && self.classes[c].len() < KEEP_PER_CLASS
            {
                self.classes[c].push(v);
            }
        }
    }
}
