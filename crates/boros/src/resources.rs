//! The driver's registered resources: provided-buffer groups, registered buffers (and their
//! deferred release), direct-descriptor slots. Calls on a [`Driver`], kept out of
//! `driver.rs` (the ops' lifecycle); the state lives in `groups.rs` and `fixed.rs`.

use crate::bufring::BufRing;
use crate::driver::Driver;
use crate::fixed::{RegisterError, Releases};
use crate::op::OpCode;
use std::io;
use std::os::fd::RawFd;
use std::rc::Rc;

impl<O: ?Sized + OpCode> Driver<O> {
    /// Registers a group of `entries` provided buffers of `size` bytes each (Linux 5.19,
    /// `IORING_REGISTER_PBUF_RING`). `entries` must be a power of two up to 32768. Ops that
    /// select buffers from it (see [`op::ReadMulti`](crate::op::ReadMulti)) take an `Rc` of it.
    pub fn register_buf_ring(&mut self, entries: u16, size: u32) -> io::Result<Rc<BufRing>> {
        self.groups
            .register(&self.ring.uring.submitter(), entries, size)
    }

    /// The ring's shared group of provided buffers, which every receive of its host can select
    /// from (rather than a group per connection): up to `entries` buffers of `size` bytes,
    /// `initial` of them in circulation at first, more when receives find it empty, fewer
    /// again when demand drops (see [`BufRing`]'s docs, "Growing and shrinking");
    /// registered on first use, and again after it was unregistered. Its ring of entries is
    /// pinned memory (RLIMIT_MEMLOCK for a user without CAP_IPC_LOCK): on ENOMEM, smaller
    /// groups are tried down to `min_entries`, then `Ok(None)`, for good: receive into plain
    /// buffers instead. Owned by the driver, so each ring (each thread's runtime) has its own.
    pub fn shared_buf_ring(
        &mut self,
        entries: u16,
        min_entries: u16,
        initial: u16,
        size: u32,
    ) -> io::Result<Option<Rc<BufRing>>> {
        self.groups.shared(
            &self.ring.uring.submitter(),
            entries,
            min_entries,
            initial,
            size,
        )
    }

    /// The shared group if it is registered (this does not register it): for stats.
    pub fn shared_buf_ring_if_any(&self) -> Option<&Rc<BufRing>> {
        self.groups.shared_if_any()
    }

    /// Unregisters a group. Done at once when no op in flight uses it, otherwise after the
    /// final CQE of the last op that does (cancel those ops to make it soon). The memory is
    /// freed when the last `Rc` of the group goes.
    pub fn unregister_buf_ring(&mut self, ring: &Rc<BufRing>) {
        self.groups.unregister(&self.ring.uring.submitter(), ring);
    }

    /// Registered groups, including those waiting to be unregistered.
    pub fn buf_rings(&self) -> usize {
        self.groups.len()
    }

    /// Registers `bufs` in consecutive slots of the ring's buffer table (registered sparse on
    /// first use) and returns the first slot: `bufs[i]` is then buffer index `first + i` of
    /// `READ_FIXED`/`WRITE_FIXED`. All or nothing: on a refusal, the slots already filled are
    /// emptied again. See [`fixed`](crate::fixed) for the memory rules.
    ///
    /// # Safety
    /// Every iovec must describe memory that stays mapped (and is not handed to anything
    /// else) until [`unregister_buffers`](Self::unregister_buffers) was called for it and every
    /// op that used it has completed.
    pub unsafe fn register_buffers(&mut self, bufs: &[libc::iovec]) -> Result<u16, RegisterError> {
        self.apply_releases();
        // SAFETY: the caller's contract, passed on.
        unsafe {
            self.fixed
                .register_buffers(&self.ring.uring.submitter(), bufs)
        }
    }

    /// Empties `n` buffer slots from `first` (registered by [`register_buffers`](Self::register_buffers))
    /// and makes them available again. The kernel unpins the pages once the last request
    /// using them completes; the caller must keep the memory mapped until then.
    pub fn unregister_buffers(&mut self, first: u16, n: usize) {
        self.fixed
            .unregister_buffers(&self.ring.uring.submitter(), first, n);
    }

    /// A handle that queues buffer ranges to empty later ([`Releases`]), for memory whose
    /// last owner goes away where the driver cannot be borrowed (a pool dropped in a reap).
    pub fn releases(&self) -> Releases {
        self.releases.clone()
    }

    /// A free slot of the ring's file table (registered sparse on first use), for an
    /// [`OpenAt::direct`](crate::op::OpenAt::direct) open. `None` when the table is full or the
    /// kernel refused the table: open a plain descriptor instead.
    pub fn alloc_file_slot(&mut self) -> Option<u32> {
        self.fixed.alloc_file_slot(&self.ring.uring.submitter())
    }

    /// Puts the plain descriptor `fd` in a free slot of the file table (registered sparse on
    /// first use; one `IORING_REGISTER_FILES_UPDATE`), for ops that then name it by
    /// [`Target::Fixed`](crate::op::Target::Fixed): no descriptor look-up per op. The kernel
    /// holds its own reference, so closing `fd` does not close the socket until
    /// [`remove_file`](Self::remove_file). `None` when the table is full or refused.
    pub fn install_file(&mut self, fd: RawFd) -> Option<u32> {
        self.fixed.install_file(&self.ring.uring.submitter(), fd)
    }

    /// Empties a slot [`install_file`](Self::install_file) filled, and frees it, at once (a
    /// system call): ops in flight on it keep their file, but an op still queued (not yet
    /// submitted) that names the slot would find whatever is put in it next: submit first, or
    /// empty it in order with a direct [`Close`](crate::op::Close) of `Target::Fixed(slot)`.
    pub fn remove_file(&mut self, slot: u32) {
        self.fixed.remove_file(&self.ring.uring.submitter(), slot)
    }

    /// Returns a file slot to the allocator, for a slot whose open was never pushed. A direct
    /// open or close frees its slot by itself at its final CQE ([`SlotUse`](crate::op::SlotUse)).
    pub fn free_file_slot(&mut self, slot: u32) {
        self.fixed.free_file_slot(slot);
    }

    /// Slots of the file table: `(size, free)`, or `None` before its first use or when refused.
    pub fn file_table(&self) -> Option<(usize, usize)> {
        self.fixed.file_table()
    }
}
