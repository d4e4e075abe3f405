//! Argument conversions shared by every exported function: paths, positions, file targets,
//! buffer ranges. The façade validates first (with Node's wording); these checks make sure no
//! bad number becomes a pointer or an offset even if it did not.

use crate::js::{self, codes, Result};
use crate::wire::FileKind;
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
        crate::wire::CURRENT_POSITION => Ok(op::CURRENT_POSITION),
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

/// A file as the façade names it: a kind ([`FileKind`]) and a number, never one number with a
/// sign convention. An unknown kind or a descriptor out of range is refused here, before
/// anything reaches the ring.
pub fn file(kind: u32, index: u32) -> Result<Target> {
    match FileKind::from_u32(kind) {
        Some(FileKind::Fd) if index <= i32::MAX as u32 => Ok(Target::Fd(index as i32)),
        Some(FileKind::Fixed) => Ok(Target::Fixed(index)),
        Some(FileKind::Fd) => Err(js::error(
            codes::OUT_OF_RANGE,
            format!("The value of \"fd\" is out of range. It must be >= 0 && <= 2147483647. Received {index}"),
        )),
        None => Err(js::error(
            codes::INVALID_ARG_VALUE,
            format!("boros: unknown file kind {kind}"),
        )),
    }
}

/// Where a read or write goes: its [`file`] and its [`position`] (checked in that order).
pub fn file_at(kind: u32, index: u32, p: i64) -> Result<(Target, u64)> {
    Ok((file(kind, index)?, position(p)?))
}

/// A descriptor argument for calls that only take one (statx of an open file, routing facts).
pub fn fd(fd: i32) -> Result<std::os::fd::RawFd> {
    if fd < 0 {
        return Err(js::error(
            codes::OUT_OF_RANGE,
            format!("The value of \"fd\" is out of range. It must be >= 0 && <= 2147483647. Received {fd}"),
        ));
    }
    Ok(fd)
}
