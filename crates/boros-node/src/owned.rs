//! Natively owned buffers (the result of a large `readFile`, `alignedBuffer()` for
//! `O_DIRECT`): the memory reads go straight into. The JS side of them is `api/owned.rs`.
//!
//! The kernel never writes into memory JS owns (see [`crate::js::JsBuf`]): a JS ArrayBuffer
//! can be detached while a read is in flight. An *owned buffer* turns that around: its memory
//! is an [`Alloc`] owned by Rust through an `Rc`. JS sees it as an external `Buffer` whose
//! finalizer holds one `Rc`; each read into it holds another `Rc` until its final CQE. So
//! the memory lives as long as the kernel may write into it, whatever JS does with the
//! Buffer meanwhile (drop it, detach it, transfer it). The kernel then writes straight into
//! it: no bounce buffer, no copy. See docs/files-internals.md.

use crate::lent::Lent;
use boros::buf::Mapping;
use std::alloc::Layout;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::ptr::NonNull;
use std::rc::{Rc, Weak};

/// Allocations at least this big (with an alignment a page gives) are fresh anonymous
/// mappings: zero-filled by the kernel on first touch, never memset (4 KiB pages, see
/// `Alloc::new` for why not huge pages).
const MAP_THRESHOLD: usize = 4 << 20;
const PAGE: usize = 4096;

/// Where an allocation's memory comes from.
enum Backing {
    Heap(Layout),
    /// Held, never read: dropping it unmaps the memory.
    Map(#[allow(dead_code)] Mapping),
}

/// Natively owned, zero-initialized memory.
pub struct Alloc {
    ptr: NonNull<u8>,
    backing: Backing,
    /// Bytes visible to JS.
    pub len: usize,
}

thread_local! {
    /// Live allocations of this thread by start address, to find the owner of a Buffer's memory.
    static REGISTRY: RefCell<BTreeMap<usize, Weak<Alloc>>> = const { RefCell::new(BTreeMap::new()) };
}

impl Alloc {
    /// `len` zeroed bytes starting at a multiple of `align` (a power of two).
    pub fn new(len: usize, align: usize) -> Option<Rc<Self>> {
        let (ptr, backing) = if len >= MAP_THRESHOLD && align <= PAGE {
            let map = Mapping::new(len).ok()?;
            // No MADV_HUGEPAGE: measured on this machine kind (a VM), 64 MiB reads into fresh
            // huge pages took ~145 ms each (first touch of 2 MiB pages the host had never
            // backed) and 10 ms only when the kernel reused recent ones: a 1 GiB readFile took
            // 0.3-2.4 s. With 4 KiB pages: 33-35 ms per 64 MiB, 0.54-0.62 s, every run.
            (NonNull::new(map.as_ptr())?, Backing::Map(map))
        } else {
            let layout = Layout::from_size_align(len.max(1), align).ok()?;
            // SAFETY: the layout has a non-zero size.
            (
                NonNull::new(unsafe { std::alloc::alloc_zeroed(layout) })?,
                Backing::Heap(layout),
            )
        };
        let rc = Rc::new(Self { ptr, backing, len });
        REGISTRY.with(|r| {
            r.borrow_mut()
                .insert(ptr.as_ptr() as usize, Rc::downgrade(&rc))
        });
        Some(rc)
    }

    /// The allocation holding `[addr, addr + len)`, if it is one of ours.
    pub fn find(addr: usize, len: usize) -> Option<Rc<Self>> {
        REGISTRY.with(|r| {
            let r = r.borrow();
            let (_, weak) = r.range(..=addr).next_back()?;
            let a = weak.upgrade()?;
            let start = a.ptr.as_ptr() as usize;
            (addr + len <= start + a.len).then_some(a)
        })
    }
}

impl Drop for Alloc {
    fn drop(&mut self) {
        // The thread-local may already be gone at thread exit: nothing left to find then.
        let _ = REGISTRY.try_with(|r| r.borrow_mut().remove(&(self.ptr.as_ptr() as usize)));
        if let Backing::Heap(layout) = self.backing {
            // SAFETY: allocated in `new` with this layout, freed once (the last Rc is dropping).
            unsafe { std::alloc::dealloc(self.ptr.as_ptr(), layout) };
        }
        // A mapping is unmapped when `backing` drops, after this.
    }
}

impl Alloc {
    /// The first byte.
    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }
}

/// A range of an owned allocation lent to one read. Holds the allocation alive.
pub type OwnedSlice = Lent<Rc<Alloc>>;

/// `len` bytes from `addr`, if they lie inside one of this thread's allocations.
pub fn find_slice(addr: usize, len: usize) -> Option<OwnedSlice> {
    let alloc = Alloc::find(addr, len)?;
    // SAFETY: `Alloc::find` checked that the range lies inside `alloc`, which the `Rc` keeps
    // allocated and in place; it is zero-filled at allocation, so every byte is initialized.
    Some(unsafe { Lent::new(alloc, addr as *mut u8, len) })
}
