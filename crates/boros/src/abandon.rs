//! Giving up on ops: an owner that goes away abandons its op, and the driver finishes it
//! (keeps its memory to the final CQE, hands its CQEs to no sink, releases what they bring
//! back: [`OpCode::leftover`](crate::op::OpCode::leftover), provided buffers). Calls on a
//! [`Driver`], kept out of `driver.rs`; the state lives in `inflight.rs`.

use crate::driver::Driver;
use crate::error::PushError;
use crate::op::OpCode;
use crate::slab::OpKey;

impl<O: ?Sized + OpCode> Driver<O> {
    /// Gives up on an op: its owner will never take its result. The driver asks the kernel
    /// to cancel it, keeps it (and every byte it lent the kernel) until its final CQE, hands
    /// none of its CQEs to a sink, and releases what they bring back itself: a descriptor
    /// or filled direct slot ([`OpCode::leftover`](crate::op::OpCode::leftover)), provided
    /// buffers. Then the op is dropped. Returns false if the op already completed.
    pub fn abandon(&mut self, key: OpKey) -> Result<bool, PushError> {
        if !self.detach(key) {
            return Ok(false);
        }
        self.cancel(key)
    }

    /// As [`abandon`](Self::abandon), without the cancel: the op runs to its end (a close
    /// nobody waits for). Returns false if the op already completed.
    pub fn detach(&mut self, key: OpKey) -> bool {
        self.ops.abandon(key)
    }

    /// Releases what a CQE (`result`, `flags`) of an op brought back, when its host got the
    /// CQE but nobody will take it (a completed op whose owner went away before it looked, a
    /// multishot item never taken): as [`abandon`](Self::abandon) does for CQEs still to come.
    /// `op` is the op, or `None` for a multishot op still in flight under `key`.
    pub fn discard(&mut self, key: OpKey, op: Option<&O>, result: i32, flags: u32) {
        match op {
            Some(op) => self.ops.leftovers.release(op, result, flags, &self.groups),
            None => {
                self.ops.release_live(key, result, flags, &self.groups);
            }
        }
        self.close_leftover_slots();
    }
}
