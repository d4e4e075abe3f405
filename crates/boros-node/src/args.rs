//! Argument conversions shared by every exported function: paths, positions, file targets,
//! buffer ranges. The façade validates first (with Node's wording); these checks make sure no
//! bad number becomes a pointer or an offset even if it did not.

use crate::js::{self, codes, Result};
use boros::op::{self, Target};
use std::ffi::CString;

/// A path argument as a C string; `name` is the argument's name in the error.
pub fn cstring(path: String, name: &str) -> Result<CString> {
    CString::new(path).map_err(|_| {
        js::error(
            codes::INVALID_ARG_VALUE,
            format!("The argument '{name}' must be a string without null bytes."),
        )
    })
}

/// A position: -1 means the file's current position.
pub fn position(p: i64) -> Result<u64> {
    match p {
        -1 => Ok(op::CURRENT_POSITION),
        p if p >= 0 => Ok(p as u64),
        p => Err(js::error(
            codes::OUT_OF_RANGE,
            format!("The value of \"position\" is out of range. It must be >= 0. Received {p}"),
        )),
    }
}

/// `offset..offset+length` must fit in a buffer of `len` bytes.
pub fn check_range(offset: u32, length: u32, len: usize) -> Result<()> {
    if offset as usize + length as usize > len {
        return Err(js::error(
            codes::OUT_OF_RANGE,
            format!(
                "The value of \"length\" is out of range. It must be <= {}. Received {length}",
                len.saturating_sub(offset as usize)
            ),
        ));
    }
    Ok(())
}

/// A file as JS names it: a descriptor (>= 0), or a direct descriptor as `-2 - slot`.
pub fn target(t: i32) -> Result<Target> {
    match t {
        t if t >= 0 => Ok(Target::Fd(t)),
        t if t <= -2 => Ok(Target::Fixed((-2 - t as i64) as u32)),
        _ => Err(js::error(codes::INVALID_ARG_VALUE, "bad file target -1")),
    }
}
