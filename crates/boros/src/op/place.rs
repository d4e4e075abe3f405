//! What [`Read`](super::Read) and [`Write`](super::Write) share: where the bytes go in the
//! file (its target and offset) and, for a fixed op, the registered buffer they lie in.

use super::Target;

pub(super) struct Place {
    pub(super) target: Target,
    pub(super) offset: u64,
    /// `Some`: the op's buffer lies inside registered buffer `buf_index` (`*_FIXED`).
    pub(super) buf_index: Option<u16>,
}

impl Place {
    pub(super) fn new(target: Target, offset: u64) -> Self {
        Self {
            target,
            offset,
            buf_index: None,
        }
    }
}

/// The SQE of a positional transfer of `len` bytes at `ptr`: opcode `$plain` at the place's
/// offset, or `$fixed` through its registered buffer.
macro_rules! place_entry {
    ($place:expr, $ptr:expr, $len:expr, $plain:ident, $fixed:ident) => {{
        let (place, ptr, len) = (&$place, $ptr, $len);
        match place.buf_index {
            None => $crate::op::with_target!(place.target, |t| io_uring::opcode::$plain::new(
                t, ptr, len
            )
            .offset(place.offset)
            .build()),
            Some(index) => $crate::op::with_target!(place.target, |t| {
                io_uring::opcode::$fixed::new(t, ptr, len, index)
                    .offset(place.offset)
                    .build()
            }),
        }
    }};
}
pub(super) use place_entry;
