//! Provided buffer rings (`IORING_REGISTER_PBUF_RING`, Linux 5.19): the kernel picks the
//! buffer when data arrives, not when the op is queued.
//!
//! A [`BufRing`] is a group of `count` buffers of `size` bytes, plus a ring of
//! `io_uring_buf` entries shared with the kernel through which boros hands buffers to the
//! kernel. An op queued with `IOSQE_BUFFER_SELECT` and the ring's group id (a multishot
//! read, [`op::ReadMulti`](crate::op::ReadMulti)) takes a buffer out of the ring for each
//! completion; the CQE names it (`IORING_CQE_F_BUFFER`, id in the top 16 bits of its flags).
//! The consumer then [`lease`](BufRing::lease)s that buffer, reads it, and dropping the
//! [`Lease`] gives it back to the kernel (recycling). When the ring is empty, the op
//! completes with `-ENOBUFS` (and a multishot op stops): recycle, then queue it again.
//!
//! ## Ownership
//! Both regions are anonymous `mmap`s owned by the `BufRing`, which lives in an `Rc`:
//! the driver holds one, every op using the group holds one (so the memory outlives the
//! op's final CQE), and so does whoever reads leased buffers. The group is unregistered
//! from the kernel only once no op in flight uses it ([`Driver::unregister_buf_ring`]);
//! the memory is unmapped only when the last `Rc` goes. If a driver has to leak ops (see
//! its `Drop`), their `Rc`s leak with them and the memory stays mapped: a leak, never a
//! kernel write into freed memory.
//!
//! ## Who may touch which buffer
//! A buffer is either *with the kernel* (published in the ring: the kernel may write into it
//! at any time) or *leased* (its id came back in a CQE: only the consumer touches it).
//! `lease` refuses a buffer that is already leased, and only takes ids from completions of
//! ops on this group, so a buffer the kernel may write into is never handed out as `&[u8]`.
//!
//! [`Driver::unregister_buf_ring`]: crate::Driver::unregister_buf_ring

use crate::buf::Mapping;
use io_uring::types::BufRingEntry;
use std::cell::Cell;
use std::sync::atomic::{AtomicU16, Ordering};
use std::{fmt, io};

/// A completion that may carry a provided buffer: what [`BufRing::lease`] reads. The driver's
/// CQE types implement it; this module names no type above it.
pub trait Selected {
    /// `(group, buffer id)` when the kernel picked a provided buffer, and the CQE's `res`.
    fn selected(&self) -> (Option<(u16, u16)>, i32);
}

/// Most entries a buffer ring may have (kernel limit).
pub const MAX_ENTRIES: u16 = 32768;

/// A registered group of provided buffers. See the [module docs](self).
pub struct BufRing {
    bgid: u16,
    entries: u16,
    size: u32,
    ring: Mapping,
    bufs: Mapping,
    /// Our copy of the tail: where the next recycled buffer goes.
    tail: Cell<u16>,
    /// Per buffer id: true while leased to the consumer.
    leased: Box<[Cell<bool>]>,
    /// Per buffer id: our tail counter when it was last published, i.e. its ring slot
    /// (modulo `entries`): a recv bundle takes consecutive slots, starting at this one.
    slot_of: Box<[Cell<u16>]>,
    /// Ops in flight (pushed, final CQE not reaped) that may take buffers from this group.
    users: Cell<u32>,
    /// Set once the group was unregistered from the kernel.
    unregistered: Cell<bool>,
}

impl fmt::Debug for BufRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BufRing")
            .field("bgid", &self.bgid)
            .field("entries", &self.entries)
            .field("size", &self.size)
            .field("users", &self.users.get())
            .finish()
    }
}

impl BufRing {
    /// Maps `entries` buffers of `size` bytes and a ring of as many entries, every buffer
    /// published to the ring. `entries` must be a power of two, 1..=32768.
    pub(crate) fn new(bgid: u16, entries: u16, size: u32) -> io::Result<Self> {
        if entries == 0 || !entries.is_power_of_two() || entries > MAX_ENTRIES || size == 0 {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        let n = entries as usize;
        let ring = Mapping::new(n * std::mem::size_of::<BufRingEntry>())?;
        let bufs = Mapping::new(n * size as usize)?;
        let this = Self {
            bgid,
            entries,
            size,
            ring,
            bufs,
            tail: Cell::new(0),
            leased: (0..n).map(|_| Cell::new(false)).collect(),
            slot_of: (0..n).map(|_| Cell::new(0)).collect(),
            users: Cell::new(0),
            unregistered: Cell::new(false),
        };
        for bid in 0..entries {
            this.publish(bid);
        }
        this.store_tail();
        Ok(this)
    }

    /// The ring's address, for `IORING_REGISTER_PBUF_RING`.
    pub(crate) fn ring_addr(&self) -> u64 {
        self.ring.as_ptr() as u64
    }

    /// The buffer group id ops name in `buf_group`.
    pub fn bgid(&self) -> u16 {
        self.bgid
    }

    /// Number of buffers.
    pub fn entries(&self) -> u16 {
        self.entries
    }

    /// Size of each buffer in bytes.
    pub fn buf_size(&self) -> u32 {
        self.size
    }

    /// Buffers currently leased to the consumer (not available to the kernel).
    pub fn leased(&self) -> usize {
        self.leased.iter().filter(|c| c.get()).count()
    }

    /// Ops in flight using this group.
    pub fn users(&self) -> u32 {
        self.users.get()
    }

    pub(crate) fn add_user(&self, delta: i32) {
        self.users.set(self.users.get().wrapping_add_signed(delta));
    }

    pub(crate) fn set_unregistered(&self) {
        self.unregistered.set(true)
    }

    /// Whether the group was unregistered from the kernel.
    pub fn is_unregistered(&self) -> bool {
        self.unregistered.get()
    }

    fn buf_ptr(&self, bid: u16) -> *mut u8 {
        // SAFETY: bid < entries (callers check), so the offset stays inside the mapping.
        unsafe { self.bufs.as_ptr().add(bid as usize * self.size as usize) }
    }

    /// Writes buffer `bid` into the ring slot at our tail and advances our tail (not yet
    /// visible to the kernel: see `store_tail`).
    fn publish(&self, bid: u16) {
        let t = self.tail.get();
        let slot = (t & (self.entries - 1)) as usize;
        // SAFETY: slot < entries, so the entry lies inside the ring mapping. The kernel only
        // reads slots between its head and the published tail; this slot is past the
        // published tail, so nobody else touches it now.
        let entry = unsafe { &mut *self.ring.as_ptr().cast::<BufRingEntry>().add(slot) };
        entry.set_addr(self.buf_ptr(bid) as u64);
        entry.set_len(self.size);
        entry.set_bid(bid);
        self.slot_of[bid as usize].set(t);
        self.tail.set(t.wrapping_add(1));
    }

    /// Publishes our tail to the kernel, with release ordering so the entries written before
    /// are visible first.
    fn store_tail(&self) {
        // SAFETY: the tail is the `resv` field of entry 0, a u16 inside the ring mapping,
        // aligned for an AtomicU16; the kernel reads it with acquire ordering.
        unsafe {
            let tail =
                BufRingEntry::tail(self.ring.as_ptr().cast::<BufRingEntry>()) as *const AtomicU16;
            (*tail).store(self.tail.get(), Ordering::Release);
        }
    }

    /// Takes the buffer a completion of an op on this group was given, if it carries one:
    /// `None` when the CQE has no buffer (errors, EOF), names another group, or names a
    /// buffer that is already leased. The lease covers the `result` bytes the kernel wrote;
    /// dropping it gives the buffer back to the kernel.
    pub fn lease(&self, c: &impl Selected) -> Option<Lease<'_>> {
        let (buffer, result) = c.selected();
        self.lease_buffer(buffer, result)
    }

    fn lease_buffer(&self, buffer: Option<(u16, u16)>, result: i32) -> Option<Lease<'_>> {
        let (bgid, bid) = buffer?;
        if bgid != self.bgid || bid >= self.entries || result < 0 {
            return None;
        }
        let cell = &self.leased[bid as usize];
        if cell.get() {
            return None;
        }
        cell.set(true);
        Some(Lease {
            ring: self,
            bid,
            len: (result as u32).min(self.size) as usize,
        })
    }

    /// Takes every buffer a completion of a bundle recv ([`op::RecvMulti::bundle`]) filled:
    /// the kernel took them from consecutive ring slots, starting at the buffer the CQE
    /// names, and filled each whole but the last; `result` is their total. In order, so the
    /// concatenation is the data. Works for one-buffer CQEs too (then it is [`lease`](Self::lease)).
    /// Empty when the CQE carries no buffer of this group. If a buffer in the run is
    /// already leased (a misuse), the run stops there.
    ///
    /// [`op::RecvMulti::bundle`]: crate::op::RecvMulti::bundle
    pub fn lease_bundle(&self, c: &impl Selected) -> Vec<Lease<'_>> {
        let (buffer, result) = c.selected();
        self.lease_run(buffer, result)
    }

    pub(crate) fn lease_run(&self, buffer: Option<(u16, u16)>, result: i32) -> Vec<Lease<'_>> {
        let Some((bgid, first)) = buffer else {
            return Vec::new();
        };
        if bgid != self.bgid || first >= self.entries || result <= 0 {
            return Vec::new();
        }
        let mut left = result as usize;
        let mut slot = self.slot_of[first as usize].get();
        let mut out = Vec::new();
        while left > 0 && out.len() < self.entries as usize {
            let idx = (slot & (self.entries - 1)) as usize;
            // SAFETY: idx < entries, inside the ring mapping. The kernel consumed this slot
            // (it is part of the bundle) and does not write ring entries; we only overwrite
            // a slot when publishing a recycled buffer, and none of this bundle's buffers is
            // recycled before it is leased here.
            let bid = unsafe { (*self.ring.as_ptr().cast::<BufRingEntry>().add(idx)).bid() };
            if bid >= self.entries || self.leased[bid as usize].get() {
                break;
            }
            self.leased[bid as usize].set(true);
            let len = left.min(self.size as usize);
            out.push(Lease {
                ring: self,
                bid,
                len,
            });
            left -= len;
            slot = slot.wrapping_add(1);
        }
        out
    }

    fn recycle(&self, bid: u16) {
        self.leased[bid as usize].set(false);
        self.publish(bid);
        self.store_tail();
    }
}

/// A buffer the kernel filled and gave to the consumer. Derefs to the bytes the kernel
/// wrote; dropping it recycles the buffer (publishes it to the kernel again).
pub struct Lease<'a> {
    ring: &'a BufRing,
    bid: u16,
    len: usize,
}

impl Lease<'_> {
    /// The buffer id.
    pub fn bid(&self) -> u16 {
        self.bid
    }
}

impl std::ops::Deref for Lease<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: the buffer is leased (marked in `leased`, absent from the ring), so the
        // kernel does not write into it until we publish it again on drop; len <= size, and
        // the kernel initialized these bytes (the CQE's count).
        unsafe { std::slice::from_raw_parts(self.ring.buf_ptr(self.bid), self.len) }
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        self.ring.recycle(self.bid);
    }
}
