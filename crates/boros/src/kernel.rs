//! The running kernel's version, read once from `uname(2)`.

use std::fmt;

/// A kernel version such as `6.1.0`, ordered the way kernel versions are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KernelVersion {
    /// Major number (the `6` of `6.1.0`).
    pub major: u16,
    /// Minor number (the `1` of `6.1.0`).
    pub minor: u16,
    /// Patch level (the `0` of `6.1.0`).
    pub patch: u16,
}

impl KernelVersion {
    /// A version from its parts.
    pub const fn new(major: u16, minor: u16, patch: u16) -> Self {
        Self {
            major,
            minor,
            patch,
        }
    }

    /// The oldest kernel boros runs on: 6.1 brought `IORING_SETUP_DEFER_TASKRUN`.
    pub const MINIMUM: KernelVersion = KernelVersion::new(6, 1, 0);

    /// Parses the leading `major.minor[.patch]` of a release string such as `6.18.44-fc-v669`.
    pub fn parse(release: &str) -> Option<Self> {
        let mut parts = release
            .split(|c: char| !c.is_ascii_digit())
            .take(3)
            .map(|p| p.parse::<u16>().ok());
        let major = parts.next()??;
        let minor = parts.next()??;
        let patch = parts.next().flatten().unwrap_or(0);
        Some(Self::new(major, minor, patch))
    }

    /// The version of the running kernel, or `None` if `uname` gave something unreadable.
    pub fn running() -> Option<Self> {
        Self::parse(&release())
    }
}

impl fmt::Display for KernelVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.patch == 0 {
            write!(f, "{}.{}", self.major, self.minor)
        } else {
            write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
        }
    }
}

/// The running kernel's release string (`uname -r`), or `"unknown"`.
pub fn release() -> String {
    // SAFETY: `utsname` is plain old data, so all-zero is a valid value, and `uname`
    // only writes NUL-terminated strings into the fixed-size arrays we pass it.
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `uts` is a valid, writable utsname owned by this frame.
    if unsafe { libc::uname(&mut uts) } != 0 {
        return "unknown".to_owned();
    }
    // SAFETY: on success `release` holds a NUL-terminated string inside the array.
    let cstr = unsafe { std::ffi::CStr::from_ptr(uts.release.as_ptr()) };
    cstr.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_release_strings() {
        assert_eq!(
            KernelVersion::parse("6.18.44-fc-v669"),
            Some(KernelVersion::new(6, 18, 44))
        );
        assert_eq!(
            KernelVersion::parse("6.1"),
            Some(KernelVersion::new(6, 1, 0))
        );
        assert_eq!(
            KernelVersion::parse("5.15.0-91-generic"),
            Some(KernelVersion::new(5, 15, 0))
        );
        assert_eq!(KernelVersion::parse("garbage"), None);
        assert!(KernelVersion::new(6, 0, 9) < KernelVersion::MINIMUM);
        assert_eq!(KernelVersion::new(6, 1, 0).to_string(), "6.1");
    }

    #[test]
    fn running_kernel_is_readable() {
        assert!(KernelVersion::running().is_some());
    }
}
