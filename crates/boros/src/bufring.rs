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
//! ## Growing and shrinking
//! A group made [`growable`](BufRing::growable) has a ring of `entries` slots (its cap) but
//! only its first `initial` buffers in circulation; the rest of its buffer mapping is
//! reserved address space the kernel never sees, so never touched (no RSS). When ops of the
//! group end with `-ENOBUFS` (the kernel found the ring empty), the driver's end of the
//! reap pass ([`end_pass`](BufRing::end_pass)) puts more buffers into circulation, up to the
//! cap; the stopped ops are armed again after that. When the most buffers any pass used over
//! several turns of the ring is a quarter of those in circulation or less, the group aims
//! lower: buffers past the new count are not published again when they come back from a
//! lease (they are *parked*, and their pages given back with `MADV_DONTNEED`, safe because a
//! parked buffer is in no ring slot). Buffers still in the ring stay there until the kernel
//! uses them: a group shrinks as traffic goes on at a lower rate, not while nothing moves.
//!
//! A group may also have a *touch budget* ([`set_touch_budget`](BufRing::set_touch_budget)):
//! the most bytes of received data its buffers in circulation may hold, counted in the pages
//! receives fill (a 64 B receive touches one page of its buffer, a full one all of them). The
//! group then grows only to the buffers that fit at the pages per buffer it has seen (a
//! burst is sized by its own pass), and lowers its target when it holds more than twice that
//! (the messages got larger). Data that finds the group empty stays in the socket's receive
//! buffer, in the kernel, until a receive armed again takes it.
//!
//! [`Driver::unregister_buf_ring`]: crate::Driver::unregister_buf_ring

mod growth;

pub use growth::Growth;

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

/// Where a buffer is: in the ring (the kernel may write into it), leased to the consumer, or
/// parked (out of circulation: nobody touches it).
const WITH_KERNEL: u8 = 0;
const LEASED: u8 = 1;
const PARKED: u8 = 2;

/// A registered group of provided buffers. See the [module docs](self).
pub struct BufRing {
    bgid: u16,
    entries: u16,
    size: u32,
    ring: Mapping,
    bufs: Mapping,
    /// Our copy of the tail: where the next recycled buffer goes.
    tail: Cell<u16>,
    /// Per buffer id: `WITH_KERNEL`, `LEASED` or `PARKED`.
    state: Box<[Cell<u8>]>,
    /// Buffer ids below this are kept in circulation; those at or above it are parked when
    /// they come back. `entries` for a group that does not grow.
    active: Cell<u16>,
    /// The least `active` a shrink goes down to.
    min_active: u16,
    /// Buffers not parked (in the ring or leased), and the most there ever were (the buffers
    /// whose pages may have been touched, short of those given back).
    circulating: Cell<u16>,
    most_circulating: Cell<u16>,
    /// This pass: buffers leased, ops that ended with `-ENOBUFS`.
    pass_taken: Cell<u32>,
    pass_starved: Cell<u32>,
    /// This pass: pages the leased buffers' bytes cover (a buffer's first page at least).
    pass_pages: Cell<u32>,
    /// Pages touched per leased buffer, in sixteenths of a page: an average over recent
    /// buffers (a pass weighs what it leased against the buffers in circulation).
    pages_per_buf: Cell<u32>,
    /// Most pages the buffers in circulation may cover (0: no limit): the group does not grow
    /// past the buffers that, at the current pages per buffer, fit in it.
    touch_budget: Cell<u32>,
    /// Since the last resize: buffers leased, and the most any pass leased.
    window_taken: Cell<u32>,
    window_peak: Cell<u32>,
    /// Counters for stats: resizes up and down, ops that ended with `-ENOBUFS`.
    grows: Cell<u32>,
    shrinks: Cell<u32>,
    starved: Cell<u64>,
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
    /// Maps `entries` buffers of `size` bytes and a ring of as many entries (a power of two,
    /// 1..=32768), with the first `initial` buffers (rounded up to a power of two, at most
    /// `entries`) published to the ring: the group grows on demand up to `entries` and shrinks
    /// back to `initial` (see the [module docs](self)). `initial == entries`: all of them,
    /// for good.
    pub(crate) fn growable(bgid: u16, entries: u16, initial: u16, size: u32) -> io::Result<Self> {
        if entries == 0 || !entries.is_power_of_two() || entries > MAX_ENTRIES || size == 0 {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        let initial = initial.clamp(1, entries).next_power_of_two();
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
            state: (0..n).map(|_| Cell::new(PARKED)).collect(),
            active: Cell::new(0),
            min_active: initial,
            circulating: Cell::new(0),
            most_circulating: Cell::new(0),
            pass_taken: Cell::new(0),
            pass_starved: Cell::new(0),
            pass_pages: Cell::new(0),
            // Until receives say otherwise, a buffer is assumed filled.
            pages_per_buf: Cell::new(
                (size as usize).div_ceil(crate::buf::page_size()).max(1) as u32 * 16,
            ),
            touch_budget: Cell::new(0),
            window_taken: Cell::new(0),
            window_peak: Cell::new(0),
            grows: Cell::new(0),
            shrinks: Cell::new(0),
            starved: Cell::new(0),
            slot_of: (0..n).map(|_| Cell::new(0)).collect(),
            users: Cell::new(0),
            unregistered: Cell::new(false),
        };
        this.grow_to(initial);
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
        self.state.iter().filter(|c| c.get() == LEASED).count()
    }

    /// Buffers in circulation (in the ring or leased): `entries` for a group that does not
    /// grow; for a growable one, what demand has asked for so far.
    pub fn circulating(&self) -> u16 {
        self.circulating.get()
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
        let cell = &self.state[bid as usize];
        if cell.get() != WITH_KERNEL {
            return None;
        }
        cell.set(LEASED);
        let len = (result as u32).min(self.size) as usize;
        self.note_taken(len);
        Some(Lease {
            ring: self,
            bid,
            len,
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
            if bid >= self.entries || self.state[bid as usize].get() != WITH_KERNEL {
                break;
            }
            self.state[bid as usize].set(LEASED);
            let len = left.min(self.size as usize);
            self.note_taken(len);
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
        if bid >= self.active.get() {
            self.park(bid);
            return;
        }
        self.state[bid as usize].set(WITH_KERNEL);
        self.publish(bid);
        self.store_tail();
    }

    /// Takes a buffer that came back from a lease out of circulation, and gives its pages back.
    fn park(&self, bid: u16) {
        self.state[bid as usize].set(PARKED);
        self.circulating.set(self.circulating.get() - 1);
        let size = self.size as usize;
        if size % crate::buf::page_size() == 0 {
            // SAFETY: the range is buffer `bid`, inside the mapping and page aligned (the
            // mapping is, and size is a multiple of the page). The buffer is in no ring slot
            // (it came back from a lease and is not published again), so the kernel does not
            // write into it; its bytes are not needed. MADV_DONTNEED on private anonymous
            // memory only drops the pages: the next touch gets zeroed ones.
            unsafe {
                libc::madvise(self.buf_ptr(bid).cast(), size, libc::MADV_DONTNEED);
            }
        }
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
