//! Registered resources of a ring: the fixed-buffer table and the fixed-file table.
//!
//! Both tables are registered **sparse** on first use (`IORING_REGISTER_BUFFERS2` /
//! `IORING_REGISTER_FILES2` with `IORING_RSRC_REGISTER_SPARSE`), then filled slot by slot, so
//! that several users on one ring (pools, direct opens) share them without re-registering.
//! Slots are handed out here; the kernel never picks one itself, so a slot number is
//! known before the SQE that fills it is queued — which is what lets an open, a read and a
//! close on the same direct descriptor be linked and submitted together.
//!
//! Memory rules (see docs/buffers.md):
//! - a registered buffer's pages are pinned by the kernel from `Driver::register_buffers`
//!   until both `Driver::unregister_buffers` was called and no request using them is in
//!   flight; the memory behind them must stay mapped as long as any op may use it (ops own a
//!   handle on it), and must not be handed to anything else before it is unregistered;
//! - registering counts against `RLIMIT_MEMLOCK` (unless the process has `CAP_IPC_LOCK`) and
//!   the memory cgroup: it fails with `ENOMEM` when over, and callers fall back to plain memory.

use io_uring::Submitter;
use std::cell::RefCell;
use std::io;
use std::os::fd::RawFd;
use std::rc::Rc;

/// Slots in the sparse buffer table (the kernel's maximum is 16384).
pub const BUFFER_TABLE_SLOTS: u32 = 4096;
/// Slots wanted in the sparse file table (clamped to `RLIMIT_NOFILE`, which the kernel enforces).
pub const FILE_TABLE_SLOTS: u32 = 4096;

/// First-fit allocator of table slots.
#[derive(Debug, Default)]
pub(crate) struct Slots {
    used: Vec<bool>,
    free: usize,
    /// Lowest index that may be free (a search hint).
    hint: usize,
}

impl Slots {
    fn new(n: usize) -> Self {
        Self {
            used: vec![false; n],
            free: n,
            hint: 0,
        }
    }

    /// `n` contiguous free slots, marked used.
    fn alloc(&mut self, n: usize) -> Option<usize> {
        if n == 0 || n > self.free {
            return None;
        }
        let mut run = 0;
        for i in self.hint..self.used.len() {
            if self.used[i] {
                run = 0;
                continue;
            }
            run += 1;
            if run == n {
                let start = i + 1 - n;
                self.used[start..=i].iter_mut().for_each(|u| *u = true);
                self.free -= n;
                if start == self.hint {
                    self.hint = i + 1;
                }
                return Some(start);
            }
        }
        None
    }

    fn release(&mut self, start: usize, n: usize) {
        for u in &mut self.used[start..start + n] {
            if *u {
                *u = false;
                self.free += 1;
            }
        }
        self.hint = self.hint.min(start);
    }
}

/// Registered-buffer ranges to empty, queued from places that cannot borrow the driver (the
/// drop of a pool during a reap, say). The driver empties them (and frees their slots for
/// new registrations) before its next push, registration, submit or reap; until then the
/// slots stay allocated, so no other memory can take them. Get one with
/// `Driver::releases`; clones share the queue.
#[derive(Clone, Default)]
pub struct Releases(Rc<RefCell<Vec<Release>>>);

/// One queued emptying: `n` slots from `first`, and what keeps their memory until it is done.
pub(crate) type Release = (u16, usize, Option<Box<dyn std::any::Any>>);

impl std::fmt::Debug for Releases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Releases({} queued)", self.0.borrow().len())
    }
}

impl Releases {
    /// Queues the emptying of `n` buffer slots from `first` (as `Driver::unregister_buffers`).
    /// The caller keeps the memory mapped until no op uses it; the kernel unpins the pages
    /// once the slots are emptied and the last request using them completed.
    pub fn unregister_buffers(&self, first: u16, n: usize) {
        self.0.borrow_mut().push((first, n, None));
    }

    /// As [`unregister_buffers`](Self::unregister_buffers), handing over `memory` (what the
    /// slots point into): the driver drops it once the slots are emptied, so the memory
    /// outlives its registration as [`Driver::register_buffers`](crate::Driver::register_buffers) requires.
    pub fn release_buffers(&self, first: u16, n: usize, memory: impl std::any::Any) {
        self.0.borrow_mut().push((first, n, Some(Box::new(memory))));
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.borrow().is_empty()
    }

    pub(crate) fn take(&self) -> Vec<Release> {
        std::mem::take(&mut *self.0.borrow_mut())
    }
}

/// The state of one table: not registered yet, registered with its slot allocator, or refused.
#[derive(Debug, Default)]
pub(crate) enum Table {
    #[default]
    Unregistered,
    Ready(Slots),
    Refused(i32),
}

/// The registered tables of a driver.
#[derive(Debug, Default)]
pub(crate) struct Tables {
    buffers: Table,
    files: Table,
}

/// Why a registration could not be made.
#[derive(Debug)]
pub enum RegisterError {
    /// The kernel refused (errno in the `io::Error`): `ENOMEM` for `RLIMIT_MEMLOCK` or the
    /// memory cgroup, `EMFILE` for a file table over `RLIMIT_NOFILE`, `EINVAL`/`EOPNOTSUPP`
    /// for a kernel without sparse tables.
    Kernel(io::Error),
    /// No free run of slots of the requested length is left in the table.
    TableFull {
        /// Table size.
        slots: u32,
    },
}

impl std::fmt::Display for RegisterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RegisterError::Kernel(e) => write!(f, "{e}"),
            RegisterError::TableFull { slots } => {
                write!(f, "the ring's registered table is full ({slots} slots)")
            }
        }
    }
}

impl std::error::Error for RegisterError {}

impl RegisterError {
    /// The errno, for a kernel refusal.
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            RegisterError::Kernel(e) => e.raw_os_error(),
            RegisterError::TableFull { .. } => None,
        }
    }
}

impl Tables {
    fn buffer_slots(&mut self, submitter: &Submitter<'_>) -> Result<&mut Slots, RegisterError> {
        if let Table::Unregistered = self.buffers {
            self.buffers = match submitter.register_buffers_sparse(BUFFER_TABLE_SLOTS) {
                Ok(()) => Table::Ready(Slots::new(BUFFER_TABLE_SLOTS as usize)),
                Err(e) => Table::Refused(e.raw_os_error().unwrap_or(libc::EINVAL)),
            };
        }
        match &mut self.buffers {
            Table::Ready(s) => Ok(s),
            Table::Refused(errno) => {
                Err(RegisterError::Kernel(io::Error::from_raw_os_error(*errno)))
            }
            Table::Unregistered => unreachable!(),
        }
    }

    /// Registers `bufs` in consecutive slots of the ring's buffer table and returns the first
    /// slot: `bufs[i]` is then buffer index `first + i` of `READ_FIXED`/`WRITE_FIXED`.
    /// All or nothing: on a refusal, the slots already filled are emptied again.
    ///
    /// # Safety
    /// Every iovec must describe memory that stays mapped (and is not handed to anything
    /// else) until [`unregister_buffers`](Self::unregister_buffers) was called for it and every
    /// op that used it has completed.
    pub(crate) unsafe fn register_buffers(
        &mut self,
        submitter: &Submitter<'_>,
        bufs: &[libc::iovec],
    ) -> Result<u16, RegisterError> {
        let n = bufs.len();
        let start = self
            .buffer_slots(submitter)?
            .alloc(n)
            .ok_or(RegisterError::TableFull {
                slots: BUFFER_TABLE_SLOTS,
            })?;
        // One update per buffer: the kernel applies a multi-buffer update partially and
        // reports only how many went through, which the io-uring crate drops.
        for (i, iov) in bufs.iter().enumerate() {
            // SAFETY: the caller keeps the memory valid as required; one iovec, no tags.
            let r = unsafe {
                submitter.register_buffers_update(
                    (start + i) as u32,
                    std::slice::from_ref(iov),
                    None,
                )
            };
            if let Err(e) = r {
                Self::clear_buffer_slots(submitter, start, i);
                if let Table::Ready(s) = &mut self.buffers {
                    s.release(start, n);
                }
                return Err(RegisterError::Kernel(e));
            }
        }
        Ok(start as u16)
    }

    fn clear_buffer_slots(submitter: &Submitter<'_>, start: usize, n: usize) {
        let empty = vec![
            libc::iovec {
                iov_base: std::ptr::null_mut(),
                iov_len: 0
            };
            n
        ];
        if n > 0 {
            // SAFETY: empty iovecs register nothing; the kernel drops its page references once
            // requests still using the old buffers complete.
            let _ = unsafe { submitter.register_buffers_update(start as u32, &empty, None) };
        }
    }

    /// Empties `n` buffer slots from `first` (registered by [`register_buffers`](Self::register_buffers))
    /// and makes them available again. The kernel unpins the pages once the last request
    /// using them completes; the caller must keep the memory mapped until then.
    pub(crate) fn unregister_buffers(&mut self, submitter: &Submitter<'_>, first: u16, n: usize) {
        Self::clear_buffer_slots(submitter, first as usize, n);
        if let Table::Ready(s) = &mut self.buffers {
            s.release(first as usize, n);
        }
    }

    fn file_slots(&mut self, submitter: &Submitter<'_>) -> Result<&mut Slots, RegisterError> {
        if let Table::Unregistered = self.files {
            let mut lim = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            // SAFETY: getrlimit writes into the local struct.
            let nofile = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0 {
                lim.rlim_cur.min(FILE_TABLE_SLOTS as u64) as u32
            } else {
                64
            };
            self.files = match submitter.register_files_sparse(nofile) {
                Ok(()) => Table::Ready(Slots::new(nofile as usize)),
                Err(e) => Table::Refused(e.raw_os_error().unwrap_or(libc::EINVAL)),
            };
        }
        match &mut self.files {
            Table::Ready(s) => Ok(s),
            Table::Refused(errno) => {
                Err(RegisterError::Kernel(io::Error::from_raw_os_error(*errno)))
            }
            Table::Unregistered => unreachable!(),
        }
    }

    /// A free slot of the ring's file table (registered sparse on first use), for an
    /// [`OpenAt::direct`](crate::op::OpenAt::direct) open. `None` when the table is full or the
    /// kernel refused the table: open a plain descriptor instead.
    pub(crate) fn alloc_file_slot(&mut self, submitter: &Submitter<'_>) -> Option<u32> {
        self.file_slots(submitter).ok()?.alloc(1).map(|s| s as u32)
    }

    /// Puts the plain descriptor `fd` in a free slot of the file table (the kernel takes its
    /// own reference: `fd` may be closed after). `None` when the table is full or refused.
    pub(crate) fn install_file(&mut self, submitter: &Submitter<'_>, fd: RawFd) -> Option<u32> {
        let slot = self.alloc_file_slot(submitter)?;
        match submitter.register_files_update(slot, &[fd]) {
            Ok(1) => Some(slot),
            _ => {
                self.free_file_slot(slot);
                None
            }
        }
    }

    /// Empties a slot [`install_file`](Self::install_file) filled and frees it. Ops in flight
    /// on it keep their own reference to the file.
    pub(crate) fn remove_file(&mut self, submitter: &Submitter<'_>, slot: u32) {
        if submitter.register_files_update(slot, &[-1]).is_ok() {
            self.free_file_slot(slot);
        }
    }

    /// Returns a file slot to the allocator. Call it once the slot is empty: after the direct
    /// close of its file completed, or after the direct open into it failed.
    pub(crate) fn free_file_slot(&mut self, slot: u32) {
        if let Table::Ready(s) = &mut self.files {
            if (slot as usize) < s.used.len() {
                s.release(slot as usize, 1);
            }
        }
    }

    /// Slots of the file table: `(size, free)`, or `None` before its first use or when refused.
    pub(crate) fn file_table(&self) -> Option<(usize, usize)> {
        match &self.files {
            Table::Ready(s) => Some((s.used.len(), s.free)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Slots;

    #[test]
    fn first_fit_runs_and_release() {
        let mut s = Slots::new(8);
        assert_eq!(s.alloc(3), Some(0));
        assert_eq!(s.alloc(3), Some(3));
        assert_eq!(s.alloc(3), None);
        s.release(0, 3);
        assert_eq!(s.alloc(2), Some(0));
        assert_eq!(s.alloc(1), Some(2));
        assert_eq!(s.alloc(2), Some(6));
        assert_eq!(s.alloc(1), None);
        assert_eq!(s.alloc(0), None);
    }
}
