//! What [`Readv`](super::Readv) and [`Writev`](super::Writev) share: the file, the buffers in
//! order, the offset, and the iovec array the kernel reads, owned by the op until its final CQE.

use super::Target;

pub(super) struct Vectored<B> {
    pub(super) target: Target,
    pub(super) bufs: Vec<B>,
    iovecs: Vec<libc::iovec>,
    pub(super) offset: u64,
}

impl<B> Vectored<B> {
    pub(super) fn new(target: Target, bufs: Vec<B>, offset: u64) -> Self {
        Self {
            target,
            bufs,
            iovecs: Vec::new(),
            offset,
        }
    }

    /// Builds the iovec array, one `(pointer, length)` of `span(buf)` a buffer, in order, and
    /// returns its address and length for the SQE. The array stays in the op, unmoved, until
    /// the op is asked for its entry again.
    pub(super) fn iovecs(
        &mut self,
        mut span: impl FnMut(&mut B) -> (*mut u8, usize),
    ) -> (*const libc::iovec, u32) {
        self.iovecs = self
            .bufs
            .iter_mut()
            .map(|b| {
                let (base, len) = span(b);
                libc::iovec {
                    iov_base: base.cast(),
                    iov_len: len,
                }
            })
            .collect();
        (self.iovecs.as_ptr(), self.iovecs.len() as u32)
    }
}
