//! File helpers of the binding: natively owned buffers (the result of a large `readFile`,
//! `alignedBuffer()` for `O_DIRECT`), reads straight into them, and per-descriptor facts
//! (filesystem type, `O_DIRECT`, its alignment) used to route reads.
//!
//! ## Owned buffers
//! The kernel never writes into memory JS owns (see [`crate::js::JsBuf`]): a JS ArrayBuffer
//! can be detached while a read is in flight. An *owned buffer* turns that around: its memory
//! is an [`Alloc`] owned by Rust through an `Rc`. JS sees it as an external `Buffer` whose
//! finalizer holds one `Rc`; each read into it holds another `Rc` until its final CQE. So
//! the memory lives as long as the kernel may write into it, whatever JS does with the
//! Buffer meanwhile (drop it, detach it, transfer it). The kernel then writes straight into
//! it: no bounce buffer, no copy. See docs/files-internals.md.

use crate::js::{self, codes, Result};
use crate::ops::{token, KIND_PLAIN};
use crate::runtime;
use boros::buf::{IoBuf, IoBufMut};
use napi::bindgen_prelude::*;
use napi::sys;
use napi_derive::napi;
use std::alloc::Layout;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::ffi::c_void;
use std::ptr::{self, NonNull};
use std::rc::{Rc, Weak};

/// Allocations at least this big (with an alignment a page gives) are fresh anonymous
/// mappings: zero-filled by the kernel on first touch, never memset (4 KiB pages, see
/// `Alloc::new` for why not huge pages).
const MAP_THRESHOLD: usize = 4 << 20;
const PAGE: usize = 4096;

/// Where an allocation's memory comes from.
enum Backing {
    Heap(Layout),
    Map(usize),
}

/// Natively owned, zero-initialized memory.
struct Alloc {
    ptr: NonNull<u8>,
    backing: Backing,
    /// Bytes visible to JS.
    len: usize,
}

thread_local! {
    /// Live allocations of this thread by start address, to find the owner of a Buffer's memory.
    static REGISTRY: RefCell<BTreeMap<usize, Weak<Alloc>>> = const { RefCell::new(BTreeMap::new()) };
}

impl Alloc {
    fn new(len: usize, align: usize) -> Option<Rc<Self>> {
        let (ptr, backing) = if len >= MAP_THRESHOLD && align <= PAGE {
            // SAFETY: a new private anonymous mapping; it overlaps nothing we own.
            let p = unsafe {
                libc::mmap(
                    ptr::null_mut(),
                    len,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                )
            };
            if p == libc::MAP_FAILED {
                return None;
            }
            // No MADV_HUGEPAGE: measured on this machine kind (a VM), 64 MiB reads into fresh
            // huge pages took ~145 ms each (first touch of 2 MiB pages the host had never
            // backed) and 10 ms only when the kernel reused recent ones: a 1 GiB readFile took
            // 0.3-2.4 s. With 4 KiB pages: 33-35 ms per 64 MiB, 0.54-0.62 s, every run.
            (NonNull::new(p.cast::<u8>())?, Backing::Map(len))
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
    fn find(addr: usize, len: usize) -> Option<Rc<Self>> {
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
        // SAFETY: allocated in `new` this way, freed once (the last Rc is dropping).
        unsafe {
            match self.backing {
                Backing::Heap(layout) => std::alloc::dealloc(self.ptr.as_ptr(), layout),
                Backing::Map(len) => {
                    libc::munmap(self.ptr.as_ptr().cast(), len);
                }
            }
        }
    }
}

/// A range of an owned allocation lent to one read. Holds the allocation alive.
struct OwnedSlice {
    alloc: Rc<Alloc>,
    ptr: *mut u8,
    len: usize,
}

// SAFETY: `ptr..ptr+len` lies inside `alloc` (checked in `read_owned`), and the `Rc` keeps the
// allocation alive and in place for as long as this value lives, wherever it is moved.
unsafe impl IoBuf for OwnedSlice {
    fn stable_ptr(&self) -> *const u8 {
        let _ = &self.alloc;
        self.ptr
    }
    fn bytes_init(&self) -> usize {
        self.len
    }
}

// SAFETY: as above; the memory is zero-initialized, so every byte is always initialized.
unsafe impl IoBufMut for OwnedSlice {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.ptr
    }
    fn bytes_total(&self) -> usize {
        self.len
    }
    unsafe fn set_init(&mut self, _n: usize) {}
}

unsafe extern "C" fn finalize(env: sys::napi_env, _data: *mut c_void, hint: *mut c_void) {
    // SAFETY: `hint` is the Box<Rc<Alloc>> leaked in `owned_buffer`; N-API calls this once.
    let owner = unsafe { Box::from_raw(hint.cast::<Rc<Alloc>>()) };
    let mut adjusted = 0i64;
    // SAFETY: env is the env this finalizer was registered in.
    unsafe { sys::napi_adjust_external_memory(env, -(owner.len as i64), &mut adjusted) };
    drop(owner);
}

/// A new zero-filled `Buffer` of `size` bytes whose memory is owned natively and starts at a
/// multiple of `alignment` (a power of two). Reads into it (`readOwned`) go straight from the
/// kernel into it.
#[napi]
pub fn owned_buffer<'env>(env: &'env Env, size: f64, alignment: u32) -> Result<Unknown<'env>> {
    if !(size >= 0.0 && size <= (isize::MAX as f64) && size.fract() == 0.0) {
        return Err(js::error(
            codes::OUT_OF_RANGE,
            format!("The value of \"size\" is out of range. Received {size}"),
        ));
    }
    if !alignment.is_power_of_two() {
        return Err(js::error(
            codes::INVALID_ARG_VALUE,
            format!("The argument 'alignment' must be a power of two. Received {alignment}"),
        ));
    }
    let len = size as usize;
    let alloc = Alloc::new(len, alignment as usize)
        .ok_or_else(|| js::error(codes::OUT_OF_RANGE, format!("Cannot allocate {len} bytes")))?;
    let data = alloc.ptr.as_ptr();
    let hint = Box::into_raw(Box::new(alloc));
    let mut value = ptr::null_mut();
    // SAFETY: `data` points to `len` bytes kept alive by the Rc in `hint` until `finalize`
    // runs; on failure we take the hint back ourselves.
    let status = unsafe {
        sys::napi_create_external_buffer(
            env.raw(),
            len,
            data.cast(),
            Some(finalize),
            hint.cast(),
            &mut value,
        )
    };
    if status != sys::Status::napi_ok {
        // SAFETY: N-API did not take ownership of the hint.
        drop(unsafe { Box::from_raw(hint) });
        return Err(js::error(
            codes::UNSUPPORTED_RUNTIME,
            "boros: this runtime refuses external buffers",
        ));
    }
    let mut adjusted = 0i64;
    // SAFETY: valid env; tells V8's GC how much memory the Buffer keeps alive.
    unsafe { sys::napi_adjust_external_memory(env.raw(), len as i64, &mut adjusted) };
    // SAFETY: `value` was just created in this env.
    Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), value) })
}

/// Whether `buffer`'s memory lies in a natively owned allocation of this thread.
#[napi]
pub fn is_owned(env: Env, buffer: Unknown) -> Result<bool> {
    // SAFETY: `buffer` is an argument of this call, on the JS thread.
    let (ptr, len) = unsafe { js::view_info(env.raw(), buffer.raw())? };
    Ok(Alloc::find(ptr as usize, len).is_some())
}

/// Queues a read of `length` bytes at `position` (-1: current position) on `fd` (a descriptor,
/// or a direct descriptor as `-2 - slot`) straight into `buffer[offset..]`, which must be an
/// owned buffer (see `ownedBuffer`). Returns the op's key.
#[napi]
pub fn read_owned(
    env: Env,
    fd: i32,
    buffer: Unknown,
    offset: u32,
    length: u32,
    position: i64,
    token_id: u32,
) -> Result<f64> {
    let pos = crate::args::position(position)?;
    let file = crate::args::target(fd)?;
    // SAFETY: `buffer` is an argument of this call, on the JS thread.
    let (ptr, len) = unsafe { js::view_info(env.raw(), buffer.raw())? };
    crate::args::check_range(offset, length, len)?;
    let start = ptr as usize + offset as usize;
    let alloc = Alloc::find(start, length as usize).ok_or_else(|| {
        js::error(
            codes::INVALID_ARG_VALUE,
            "The argument 'buffer' is not a boros owned buffer",
        )
    })?;
    runtime::with(|rt| {
        // SAFETY (of the read this queues): the kernel writes `length` bytes from `start`, which
        // `Alloc::find` checked lie inside `alloc`; the slice's `Rc` keeps that memory mapped
        // until the op's final CQE, even if JS drops, detaches or transfers the Buffer meanwhile.
        let slice = OwnedSlice {
            alloc,
            ptr: start as *mut u8,
            len: length as usize,
        };
        let op = boros::op::Read::new(file, slice, pos).with_len(length);
        rt.queue(Box::new(op), token(KIND_PLAIN, token_id))
    })
}

/// What a descriptor's file is, for routing its reads.
#[napi(object)]
pub struct FdInfo {
    /// `f_type` of `fstatfs(2)` (the filesystem's magic number), or 0 if unknown.
    pub fs_type: f64,
    /// Whether the descriptor was opened with `O_DIRECT`.
    pub direct: bool,
    /// `O_DIRECT` buffer alignment (`stx_dio_mem_align`), 0 if unknown.
    pub dio_mem_align: u32,
    /// `O_DIRECT` offset/length alignment (`stx_dio_offset_align`), 0 if unknown.
    pub dio_offset_align: u32,
}

/// Facts about `fd`, from `fstatfs`, `fcntl(F_GETFL)` and (for `O_DIRECT`) `statx`.
/// Synchronous: these calls do not wait on a disk.
#[napi]
pub fn fd_info(fd: i32) -> FdInfo {
    // SAFETY: plain syscalls on an integer descriptor with out-pointers to locals.
    let (fs_type, flags) = unsafe {
        let mut sfs: libc::statfs = std::mem::zeroed();
        let t = if libc::fstatfs(fd, &mut sfs) == 0 {
            sfs.f_type as u32 as f64
        } else {
            0.0
        };
        (t, libc::fcntl(fd, libc::F_GETFL))
    };
    let direct = flags >= 0 && flags & libc::O_DIRECT != 0;
    let (mut mem, mut off) = (0, 0);
    if direct {
        // SAFETY: as above.
        unsafe {
            let mut stx: libc::statx = std::mem::zeroed();
            let empty = c"";
            if libc::statx(
                fd,
                empty.as_ptr(),
                libc::AT_EMPTY_PATH,
                libc::STATX_DIOALIGN,
                &mut stx,
            ) == 0
                && stx.stx_mask & libc::STATX_DIOALIGN != 0
            {
                mem = stx.stx_dio_mem_align;
                off = stx.stx_dio_offset_align;
            }
        }
    }
    FdInfo {
        fs_type,
        direct,
        dio_mem_align: mem,
        dio_offset_align: off,
    }
}
