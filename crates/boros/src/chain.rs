//! Linked chains of ops (`IOSQE_IO_LINK`, `IOSQE_IO_HARDLINK`): pushed whole, never split
//! across two submits. Calls on a [`Driver`], kept out of `driver.rs` (the one-op hot path).

use crate::driver::Driver;
use crate::error::PushError;
use crate::op::OpCode;
use crate::slab::OpKey;
use io_uring::squeue;

impl<O: ?Sized + OpCode> Driver<O> {
    /// Queues operations as one linked chain (`IOSQE_IO_LINK`): each starts only after the one
    /// before it succeeded; a failure cancels the rest (they complete with `-ECANCELED`).
    /// The chain is placed in the SQ whole, never split across two submits.
    pub fn push_chain(&mut self, ops: Vec<(Box<O>, u64)>) -> Result<Vec<OpKey>, PushError> {
        let n = ops.len();
        let ops = ops
            .into_iter()
            .enumerate()
            .map(|(i, (op, token))| {
                let link = if i + 1 < n {
                    squeue::Flags::IO_LINK
                } else {
                    squeue::Flags::empty()
                };
                (op, token, link)
            })
            .collect();
        self.push_linked(ops)
    }

    /// Queues operations together with the SQE flags of each (`IO_LINK`, `IO_HARDLINK`...):
    /// a chain whose links are chosen per op, for example open -> read (`IO_LINK`: runs only
    /// if the open succeeded) -> close (`IO_HARDLINK` on the read: runs even after a short or
    /// failed read). Placed in the SQ whole, never split across two submits.
    pub fn push_linked(
        &mut self,
        ops: Vec<(Box<O>, u64, squeue::Flags)>,
    ) -> Result<Vec<OpKey>, PushError> {
        self.check_pushable()?;
        let n = ops.len();
        let mut keys = Vec::with_capacity(n);
        let mut entries = Vec::with_capacity(n);
        for (op, token, flags) in ops {
            let (key, group) = self.ops.insert(op, token);
            let op = self.ops.get_mut(key).expect("just inserted");
            entries.push(op.op.entry().flags(flags).user_data(key.as_u64()));
            keys.push((key, group));
        }
        let pushed = entries
            .iter()
            .try_for_each(|e| self.check_supported(e))
            .and_then(|_| self.push_entries(&entries, n as u64));
        if let Err(e) = pushed {
            for (key, _) in keys {
                self.ops.remove(key);
            }
            return Err(e);
        }
        for &(key, group) in &keys {
            self.pushed(key, group);
        }
        Ok(keys.into_iter().map(|(key, _)| key).collect())
    }
}
