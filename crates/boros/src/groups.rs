//! The provided-buffer groups registered on a ring, and their retirement: a group asked to
//! go is unregistered from the kernel only once no op in flight selects from it.

use crate::bufring::BufRing;
use io_uring::Submitter;
use std::io;
use std::rc::Rc;

/// Registered groups, and those waiting for their last user to finish.
#[derive(Default)]
pub(crate) struct BufGroups {
    live: Vec<Rc<BufRing>>,
    /// Groups being unregistered: removed from the kernel once no op in flight uses them.
    retiring: Vec<Rc<BufRing>>,
    /// The ring's shared group (see `Driver::shared_buf_ring`), and whether the kernel refused
    /// every size of it.
    shared: Option<Rc<BufRing>>,
    shared_refused: bool,
}

impl BufGroups {
    fn all(&self) -> impl Iterator<Item = &Rc<BufRing>> {
        self.live.iter().chain(&self.retiring)
    }

    /// Registers a group of `entries` buffers of `size` bytes under the lowest free group id.
    pub(crate) fn register(
        &mut self,
        submitter: &Submitter<'_>,
        entries: u16,
        size: u32,
    ) -> io::Result<Rc<BufRing>> {
        self.register_growable(submitter, entries, entries, size)
    }

    /// Registers a group of `entries` buffers of `size` bytes, `initial` of them in
    /// circulation (see [`BufRing::growable`]), under the lowest free group id.
    fn register_growable(
        &mut self,
        submitter: &Submitter<'_>,
        entries: u16,
        initial: u16,
        size: u32,
    ) -> io::Result<Rc<BufRing>> {
        let bgid = (0..u16::MAX)
            .find(|&id| !self.all().any(|r| r.bgid() == id))
            .ok_or_else(|| io::Error::from_raw_os_error(libc::ENOSPC))?;
        let ring = Rc::new(BufRing::growable(bgid, entries, initial, size)?);
        // SAFETY: the ring mapping is owned by `ring`, which we keep (in `live`, then
        // `retiring`) until the group is unregistered, and every op using the group holds an
        // `Rc` of it until its final CQE.
        unsafe { submitter.register_buf_ring_with_flags(ring.ring_addr(), entries, bgid, 0)? };
        self.live.push(ring.clone());
        Ok(ring)
    }

    /// The shared group, registered on first use (again after it was unregistered) with
    /// `initial` of its `entries` buffers in circulation (it grows on demand); on ENOMEM,
    /// halves `entries` down to `min_entries`, then gives `None` for good.
    pub(crate) fn shared(
        &mut self,
        submitter: &Submitter<'_>,
        mut entries: u16,
        min_entries: u16,
        initial: u16,
        size: u32,
    ) -> io::Result<Option<Rc<BufRing>>> {
        if self.shared_refused {
            return Ok(None);
        }
        if let Some(ring) = self.shared.as_ref().filter(|g| !g.is_unregistered()) {
            return Ok(Some(Rc::clone(ring)));
        }
        loop {
            match self.register_growable(submitter, entries, initial, size) {
                Ok(ring) => {
                    self.shared = Some(Rc::clone(&ring));
                    return Ok(Some(ring));
                }
                Err(e) if e.raw_os_error() == Some(libc::ENOMEM) => {
                    if entries / 2 < min_entries.max(1) {
                        self.shared_refused = true;
                        return Ok(None);
                    }
                    entries /= 2;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Moves a group to the retiring list and unregisters what has no user left.
    pub(crate) fn unregister(&mut self, submitter: &Submitter<'_>, ring: &Rc<BufRing>) {
        if let Some(i) = self.live.iter().position(|r| Rc::ptr_eq(r, ring)) {
            self.retiring.push(self.live.swap_remove(i));
            self.retire(submitter);
        }
    }

    /// Registered groups, including those waiting to be unregistered.
    pub(crate) fn len(&self) -> usize {
        self.live.len() + self.retiring.len()
    }

    /// Counts an op in (`+1`, when pushed) or out (`-1`, at its final CQE) of the users of
    /// group `bgid`.
    pub(crate) fn track(&self, bgid: Option<u16>, delta: i32) {
        let Some(bgid) = bgid else { return };
        if let Some(r) = self.all().find(|r| r.bgid() == bgid) {
            r.add_user(delta);
        }
    }

    /// Gives back to the kernel the provided buffers a CQE of group `bgid` carries (its first
    /// buffer `bid`, `result` bytes), for a CQE nobody takes (an abandoned receive).
    pub(crate) fn recycle(&self, bgid: Option<u16>, bid: u16, result: i32) {
        let Some(bgid) = bgid else { return };
        if let Some(r) = self.all().find(|r| r.bgid() == bgid) {
            // Leased and dropped at once: each lease publishes its buffer again.
            drop(r.lease_run(Some((bgid, bid)), result.max(1)));
        }
    }

    /// The shared group, if it is registered (without registering it).
    pub(crate) fn shared_if_any(&self) -> Option<&Rc<BufRing>> {
        self.shared.as_ref().filter(|g| !g.is_unregistered())
    }

    /// Counts an op of group `bgid` that ended with `-ENOBUFS` (see [`BufRing::end_pass`]).
    pub(crate) fn starved(&self, bgid: Option<u16>) {
        let Some(bgid) = bgid else { return };
        if let Some(r) = self.live.iter().find(|r| r.bgid() == bgid) {
            r.note_starved();
        }
    }

    /// Buffers group `bgid` has in circulation (0 for a group it does not know).
    pub(crate) fn circulating(&self, bgid: u16) -> u32 {
        self.all()
            .find(|r| r.bgid() == bgid)
            .map_or(0, |r| r.circulating() as u32)
    }

    /// The end of a reap pass: each live group grows or shrinks by what the pass used.
    pub(crate) fn end_pass(&self) {
        for r in &self.live {
            r.end_pass();
        }
    }

    /// Whether some group waits for its users to finish.
    pub(crate) fn has_retiring(&self) -> bool {
        !self.retiring.is_empty()
    }

    /// Unregisters every retiring group no op in flight uses any more.
    pub(crate) fn retire(&mut self, submitter: &Submitter<'_>) {
        self.retiring.retain(|r| {
            if r.users() > 0 {
                return true;
            }
            if let Err(e) = submitter.unregister_buf_ring(r.bgid()) {
                // Nothing uses it; the ring's close frees the kernel side anyway.
                eprintln!("boros: unregistering buffer group {} failed: {e}", r.bgid());
            }
            r.set_unregistered();
            false
        });
    }
}
