//! The growth policy of a growable [`BufRing`] (see the parent module's docs, "Growing and
//! shrinking"): what a pass leased and how many pages it filled, growing when ops found the
//! group empty, lowering the target when demand dropped or the buffers would hold more than
//! the touch budget allows.

use super::{BufRing, PARKED, WITH_KERNEL};

/// A growable group shrinks only after this many turns of its ring (buffers leased, in units
/// of the buffers in circulation) in which no pass used more than a quarter of them.
const SHRINK_TURNS: u32 = 4;

impl BufRing {
    /// How this group's size moved: see [`Growth`].
    pub fn growth(&self) -> Growth {
        Growth {
            circulating: self.circulating.get(),
            target: self.active.get(),
            most: self.most_circulating.get(),
            grows: self.grows.get(),
            shrinks: self.shrinks.get(),
            starved: self.starved.get(),
        }
    }

    /// Counts a leased buffer and the pages its `len` bytes cover (at least one).
    pub(super) fn note_taken(&self, len: usize) {
        self.pass_taken.set(self.pass_taken.get() + 1);
        let pages = len.div_ceil(crate::buf::page_size()).max(1) as u32;
        self.pass_pages.set(self.pass_pages.get() + pages);
    }

    /// Limits how many pages of received bytes the buffers in circulation may cover: the
    /// group grows only to the buffers that fit in `bytes` at the pages per buffer receives
    /// have been filling (a running average), never below its initial count; a group that
    /// outgrew it (the messages got larger) lowers its target. `0`: no limit (the default).
    /// Full 16 KiB buffers under a 4 MiB budget: 256 buffers; receives of one page or less:
    /// 1,024. What does not fit waits in the sockets' receive buffers (kernel memory, as a
    /// reader that reads one socket at a time leaves it) until a later pass.
    pub fn set_touch_budget(&self, bytes: usize) {
        let pages = bytes / crate::buf::page_size();
        self.touch_budget.set(pages.min(u32::MAX as usize) as u32);
    }

    /// The most buffers the touch budget allows at `per_buf` sixteenths of a page per buffer
    /// (a power of two, between the initial count and `entries`).
    fn budget_cap(&self, per_buf: u32) -> u16 {
        let budget = self.touch_budget.get() as u64;
        if budget == 0 {
            return self.entries;
        }
        let n = (budget * 16 / per_buf.max(1) as u64).min(self.entries as u64);
        let n = n.max(1) as u16;
        // Down to a power of two (grow_to rounds up), not below the initial count.
        let pow = if n.is_power_of_two() {
            n
        } else {
            n.next_power_of_two() / 2
        };
        pow.max(self.min_active)
    }

    /// Puts buffers `0..n` into circulation (`n` rounded up to a power of two, at most
    /// `entries`): those parked are published. Those past the old count that are still in
    /// the ring or leased (a shrink not finished) simply stay.
    pub(super) fn grow_to(&self, n: u16) {
        let n = n.clamp(1, self.entries).next_power_of_two();
        let old = self.active.get();
        if n <= old {
            return;
        }
        self.active.set(n);
        let mut published = false;
        for bid in old..n {
            if self.state[bid as usize].get() == PARKED {
                self.state[bid as usize].set(WITH_KERNEL);
                self.circulating.set(self.circulating.get() + 1);
                self.publish(bid);
                published = true;
            }
        }
        if published {
            self.store_tail();
        }
        let c = self.circulating.get();
        self.most_circulating
            .set(self.most_circulating.get().max(c));
    }

    /// Counts an op of this group that ended with `-ENOBUFS` (the ring was empty).
    pub(crate) fn note_starved(&self) {
        self.pass_starved.set(self.pass_starved.get() + 1);
        self.starved.set(self.starved.get() + 1);
    }

    /// The end of a reap pass (every CQE the kernel had posted was handed out, and the
    /// consumer gave back the buffers it leased): grows the group if ops ran it dry in this
    /// pass, and lowers its target once it has been far larger than any pass needed for
    /// `SHRINK_TURNS` turns. Does nothing for a group made at full size.
    pub(crate) fn end_pass(&self) {
        let taken = self.pass_taken.replace(0);
        let starved = self.pass_starved.replace(0);
        let pages = self.pass_pages.replace(0);
        let active = self.active.get();
        // This pass's pages per buffer (sixteenths), and the average with it.
        let now = (pages.saturating_mul(16) / taken.max(1)).max(16);
        if taken > 0 {
            let w = active as u64;
            // Rounded down: rounding up would stay a sixteenth above one page for good, and
            // halve the cap of one-page receives (the cap is a power of two, rounded down).
            let avg =
                (self.pages_per_buf.get() as u64 * w + pages as u64 * 16) / (w + taken as u64);
            self.pages_per_buf.set(avg as u32);
        }
        let cap = self.budget_cap(self.pages_per_buf.get());
        if active > cap.saturating_mul(2) {
            // The messages got larger: the buffers in circulation cover twice the budget.
            // Those past `cap` are parked as they come back.
            self.active.set(cap);
            self.shrinks.set(self.shrinks.get() + 1);
            self.window_taken.set(0);
            self.window_peak.set(0);
            return;
        }
        if starved > 0 {
            // A burst is sized by its own buffers: small receives before it do not let it
            // grow past what its buffers cover.
            let cap = cap.min(self.budget_cap(now));
            if active < cap {
                // Room for what this pass took and one buffer per op that found none, and at
                // least twice the buffers there were; within the touch budget.
                let want = (taken + starved).min(cap as u32) as u16;
                self.grow_to(want.max(active.saturating_mul(2)).min(cap));
                self.grows.set(self.grows.get() + 1);
                self.window_taken.set(0);
                self.window_peak.set(0);
            }
            return;
        }
        if taken == 0 || active <= self.min_active {
            return;
        }
        let peak = self.window_peak.get().max(taken);
        let total = self.window_taken.get() + taken;
        if total < SHRINK_TURNS * active as u32 {
            self.window_peak.set(peak);
            self.window_taken.set(total);
            return;
        }
        self.window_peak.set(0);
        self.window_taken.set(0);
        if peak * 4 <= active as u32 {
            let to = ((peak * 2).max(1) as u16)
                .next_power_of_two()
                .max(self.min_active);
            if to < active {
                self.active.set(to);
                self.shrinks.set(self.shrinks.get() + 1);
            }
        }
    }
}

/// How a [`BufRing`]'s size moved (see the [`bufring`](super) module docs): for stats and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Growth {
    /// Buffers in circulation now (in the ring or leased).
    pub circulating: u16,
    /// Buffers the group aims to keep in circulation (below `circulating` while a shrink is
    /// under way).
    pub target: u16,
    /// The most buffers ever in circulation.
    pub most: u16,
    /// Times the group grew.
    pub grows: u32,
    /// Times the group lowered its target.
    pub shrinks: u32,
    /// Ops of the group that ended with `-ENOBUFS` (each was armed again).
    pub starved: u64,
}
