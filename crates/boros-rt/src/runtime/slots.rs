//! The runtime's op slots: what becomes of each op it pushed ([`Slot`]), what to do with the
//! result of one nobody awaits any more ([`Abandon`]), and the reap that moves every CQE into
//! its op's slot and wakes the op's task.

use super::{Core, WAKE_TOKEN};
use boros::op::{self, OpCode};
use boros::OpKey;
use std::collections::VecDeque;
use std::io;
use std::task::Waker;

/// The state of one op the runtime pushed, keyed by the op's token.
pub(crate) enum Slot {
    /// In flight; the waker of the future awaiting it.
    Waiting(Option<Waker>),
    /// The final CQE arrived; the op is back, with its buffers.
    Done {
        result: i32,
        flags: u32,
        op: Box<dyn OpCode>,
    },
    /// Its future was dropped while in flight: the driver keeps the op until the final CQE,
    /// then the runtime runs the action and drops the op. For a multishot op the action
    /// also runs on every non-final CQE (closing the descriptors of a dropped accept stream).
    Abandoned(Abandon),
    /// A multishot op: its CQEs, `(result, flags)`, queue up for the stream awaiting them;
    /// `ended` once the final CQE is in.
    Stream {
        items: VecDeque<(i32, u32)>,
        waker: Option<Waker>,
        ended: bool,
    },
}

/// What to do with the result of an op nobody awaits any more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Abandon {
    /// Nothing: drop the op (and its buffers).
    Nothing,
    /// The result is a new descriptor: close it.
    CloseFd,
    /// A direct open into this file slot: close the slot if the open succeeded (the driver
    /// frees the slot, at the failed open's CQE or at the close's).
    CloseFixed(u32),
}

impl Core {
    /// Phase 3: every completion goes to its op's slot; the op's task is woken.
    pub(super) fn reap(&self) -> io::Result<()> {
        let mut wakers: Vec<Waker> = Vec::new();
        let mut delivered = 0u64;
        let mut orphans = 0u64;
        self.driver.borrow_mut().reap(boros::completions(|c| {
            let token = c.token;
            let (result, flags) = (c.result, c.flags);
            let op = c.into_op();
            if token == WAKE_TOKEN {
                if let Some(op) = op {
                    self.wake_armed.set(false);
                    self.graveyard.borrow_mut().push(op);
                }
                return;
            }
            delivered += 1;
            let mut ops = self.ops.borrow_mut();
            let Some(op) = op else {
                // A non-final CQE of a multishot op.
                match ops.get_mut(token) {
                    Some(Slot::Stream { items, waker, .. }) => {
                        items.push_back((result, flags));
                        wakers.extend(waker.take());
                    }
                    Some(Slot::Abandoned(action)) if *action != Abandon::Nothing => {
                        self.after_reap.borrow_mut().push((*action, result));
                    }
                    _ => {}
                }
                return;
            };
            match ops.get_mut(token) {
                Some(slot @ Slot::Waiting(_)) => {
                    if let Slot::Waiting(Some(w)) =
                        std::mem::replace(slot, Slot::Done { result, flags, op })
                    {
                        wakers.push(w);
                    }
                }
                Some(Slot::Stream {
                    items,
                    waker,
                    ended,
                }) => {
                    items.push_back((result, flags));
                    *ended = true;
                    wakers.extend(waker.take());
                    self.graveyard.borrow_mut().push(op);
                }
                Some(Slot::Abandoned(action)) => {
                    let action = *action;
                    ops.remove(token);
                    orphans += 1;
                    if action != Abandon::Nothing {
                        self.after_reap.borrow_mut().push((action, result));
                    }
                    self.graveyard.borrow_mut().push(op);
                }
                _ => self.graveyard.borrow_mut().push(op),
            }
        }))?;
        self.bump(|s| {
            s.completions += delivered;
            s.orphans += orphans;
        });
        for w in wakers {
            w.wake();
        }
        let dead = std::mem::take(&mut *self.graveyard.borrow_mut());
        drop(dead);
        let actions = std::mem::take(&mut *self.after_reap.borrow_mut());
        for (action, result) in actions {
            self.run_abandon(action, result);
        }
        Ok(())
    }

    /// Cleans up after an op whose future is gone, once its final CQE is in.
    pub(crate) fn run_abandon(&self, action: Abandon, result: i32) {
        match action {
            Abandon::Nothing => {}
            Abandon::CloseFd => {
                if result >= 0 {
                    // SAFETY: the op opened this descriptor for a future that no longer
                    // exists: nobody else has it.
                    unsafe { libc::close(result) };
                    self.bump(|s| s.orphan_fds_closed += 1);
                }
            }
            // The driver frees the slot: at a failed open's CQE, or at this close's.
            Abandon::CloseFixed(slot) => {
                if result >= 0 {
                    self.push_detached(op::Close::new(op::Target::Fixed(slot)), Abandon::Nothing);
                }
            }
        }
    }

    /// Pushes an op nobody awaits; `action` runs after its final CQE.
    pub(crate) fn push_detached<T: OpCode>(&self, op: T, action: Abandon) {
        let token = self
            .ops
            .borrow_mut()
            .insert(Slot::Abandoned(action))
            .as_u64();
        if self.driver.borrow_mut().push(Box::new(op), token).is_err() {
            self.ops.borrow_mut().remove(token);
        }
    }

    /// Pushes an op awaited by an [`Op`](crate::op::Op) future; returns `(token, key)`.
    pub(crate) fn push<T: OpCode>(&self, op: T) -> io::Result<(u64, OpKey)> {
        self.push_as(op, Slot::Waiting(None))
    }

    /// Pushes an op with its slot in the given initial state.
    pub(crate) fn push_as<T: OpCode>(&self, op: T, slot: Slot) -> io::Result<(u64, OpKey)> {
        let token = self.ops.borrow_mut().insert(slot).as_u64();
        match self.driver.borrow_mut().push(Box::new(op), token) {
            Ok(key) => Ok((token, key)),
            Err(e) => {
                self.ops.borrow_mut().remove(token);
                Err(e.into())
            }
        }
    }
}
