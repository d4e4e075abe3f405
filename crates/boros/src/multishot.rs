//! Multishot delivery, owned once for every host: what each CQE of a multishot op means to
//! whoever consumes it ([`Shot`], [`step`]), and the queue that holds a multishot op's CQEs
//! and its end until a consumer takes them ([`Queue`]).
//!
//! A multishot op ([`RecvMulti`](crate::op::RecvMulti), [`ReadMulti`](crate::op::ReadMulti),
//! [`AcceptMulti`](crate::op::AcceptMulti)) posts CQEs with `IORING_CQE_F_MORE` until its
//! final one (see [`net`](crate::net) for how they end). Every host reads a CQE the same way:
//! - an item (bytes, a descriptor), delivered in order; if it came with the **final** CQE
//!   (the kernel stopped the op: a full CQ, a late cancel), the op is then re-armed;
//! - for reads and receives, `0`: end of stream;
//! - `-ENOBUFS` (the buffer group ran dry) or `-EAGAIN`: the op stopped with nothing lost
//!   ([`Shot::Rearm`]): arm it again once the consumer wants more;
//! - any other `-errno` (`-ECANCELED` after a cancel): an error, the op's last.
//!
//! Hosts: the Node binding delivers each CQE into its batch at once (`ops/chunk_read.rs`,
//! `ops/recv_stream.rs`, `ops/accept_stream.rs`: the batch is their queue); boros-rt keeps each
//! stream's CQEs in a [`Queue`] until its future takes them (`runtime/slots.rs`, `op.rs`,
//! `recv.rs`, `net.rs`).

use crate::cqe::Cqe;
use crate::driver::Driver;
use crate::op::OpCode;
use crate::slab::OpKey;
use std::collections::VecDeque;

/// What one CQE of a multishot op means to its consumer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shot {
    /// Something to deliver: a count of bytes (reads, receives: `> 0`) or a descriptor
    /// (accepts: `>= 0`).
    Item(i32),
    /// End of stream: a read or receive's `0`.
    End,
    /// The op stopped with nothing lost (`-ENOBUFS`: its buffer group ran dry; `-EAGAIN`):
    /// arm it again to go on.
    Rearm,
    /// `-errno`: an error, or `-ECANCELED` after a cancel.
    Error(i32),
}

/// One CQE read: what it means, and whether it was the op's last (no `IORING_CQE_F_MORE`). A
/// last [`Shot::Item`] means: deliver it, then re-arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// What the CQE means.
    pub shot: Shot,
    /// The op's final CQE.
    pub last: bool,
}

impl Step {
    /// The op has to be armed again for more: it ended on an item or with nothing lost.
    pub fn rearm(&self) -> bool {
        self.last && matches!(self.shot, Shot::Item(_) | Shot::Rearm)
    }
}

/// Reads a CQE (`result`, `flags`) of a multishot read or receive: bytes, `0` at end of
/// stream.
pub fn step(result: i32, flags: u32) -> Step {
    Step {
        shot: match result {
            r if r > 0 => Shot::Item(r),
            0 => Shot::End,
            r => errno(r),
        },
        last: !io_uring::cqueue::more(flags),
    }
}

/// Reads a CQE of a multishot accept: a descriptor (`0` is one too).
pub fn step_accept(result: i32, flags: u32) -> Step {
    Step {
        shot: if result >= 0 {
            Shot::Item(result)
        } else {
            errno(result)
        },
        last: !io_uring::cqueue::more(flags),
    }
}

fn errno(r: i32) -> Shot {
    if r == -libc::ENOBUFS || r == -libc::EAGAIN {
        Shot::Rearm
    } else {
        Shot::Error(r)
    }
}

/// A multishot op's CQEs, `(result, flags)`, queued for a consumer that takes them later (a
/// future, polled), and the op itself once its final CQE is in (its memory is then the
/// host's). Fed from the op's [`Complete`](crate::Complete) steps.
pub struct Queue<O: ?Sized> {
    items: VecDeque<(i32, u32)>,
    ended: Option<Box<O>>,
}

/// What [`Queue::take`] found.
pub enum Next {
    /// The oldest CQE not taken yet.
    Item(i32, u32),
    /// Nothing queued, and the op is in flight: wait for its next CQE.
    Empty,
    /// The final CQE was taken: the op is over.
    Ended,
}

impl<O: ?Sized> Default for Queue<O> {
    fn default() -> Self {
        Self {
            items: VecDeque::new(),
            ended: None,
        }
    }
}

impl<O: ?Sized> Queue<O> {
    /// A CQE that says more will come ([`Complete::update`](crate::Complete::update)).
    pub fn update(&mut self, cqe: &Cqe) {
        self.items.push_back((cqe.result, cqe.flags));
    }

    /// The final CQE, with the op ([`Complete::complete`](crate::Complete::complete)).
    pub fn complete(&mut self, cqe: &Cqe, op: Box<O>) {
        self.items.push_back((cqe.result, cqe.flags));
        self.ended = Some(op);
    }

    /// Takes the oldest CQE.
    pub fn take(&mut self) -> Next {
        match self.items.pop_front() {
            Some((result, flags)) => Next::Item(result, flags),
            None if self.ended.is_some() => Next::Ended,
            None => Next::Empty,
        }
    }

    /// The consumer went away: releases what the CQEs it never took brought back (a
    /// descriptor, a provided buffer: [`Driver::discard`]), and abandons the op if it is
    /// still in flight under `key` ([`Driver::abandon`]). Returns the op if it had ended, to
    /// be dropped by the caller once the driver is no longer borrowed.
    pub fn discard(self, driver: &mut Driver<O>, key: OpKey) -> Option<Box<O>>
    where
        O: OpCode,
    {
        let op = self.ended.as_deref();
        for (result, flags) in self.items {
            driver.discard(key, op, result, flags);
        }
        if self.ended.is_none() {
            let _ = driver.abandon(key);
        }
        self.ended
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MORE: u32 = 1 << 1; // IORING_CQE_F_MORE

    #[test]
    fn reads_and_receives() {
        assert_eq!(
            step(5, MORE),
            Step {
                shot: Shot::Item(5),
                last: false
            }
        );
        assert!(
            step(5, 0).rearm(),
            "an item on the last CQE: deliver, then re-arm"
        );
        assert_eq!(step(0, 0).shot, Shot::End);
        assert!(!step(0, 0).rearm());
        assert!(step(-libc::ENOBUFS, 0).rearm());
        assert!(step(-libc::EAGAIN, 0).rearm());
        assert_eq!(
            step(-libc::ECANCELED, 0).shot,
            Shot::Error(-libc::ECANCELED)
        );
        assert!(!step(-libc::ECONNRESET, 0).rearm());
    }

    #[test]
    fn accepts() {
        assert_eq!(
            step_accept(0, MORE).shot,
            Shot::Item(0),
            "descriptor 0 is a connection"
        );
        assert!(step_accept(7, 0).rearm());
        assert_eq!(
            step_accept(-libc::EMFILE, MORE).shot,
            Shot::Error(-libc::EMFILE)
        );
    }
}
