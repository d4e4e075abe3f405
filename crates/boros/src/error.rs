//! Errors: ring setup, refused pushes, and the one mapping from a CQE result to `io::Result`.

use crate::kernel::KernelVersion;
use std::{fmt, io};

/// Maps a CQE's `res` to a result: negative values are `-errno`.
///
/// This is the one place where completion results become errors.
#[inline]
pub fn cqe_result(res: i32) -> io::Result<u32> {
    if res < 0 {
        Err(io::Error::from_raw_os_error(-res))
    } else {
        Ok(res as u32)
    }
}

/// Why a ring could not be set up.
#[derive(Debug)]
pub enum SetupError {
    /// The running kernel is older than boros needs.
    KernelTooOld {
        /// The running kernel.
        running: KernelVersion,
        /// What boros needs (6.1, for `IORING_SETUP_DEFER_TASKRUN`).
        required: KernelVersion,
    },
    /// The kernel refused io_uring: seccomp, `kernel.io_uring_disabled`, a sandbox.
    Refused {
        /// The running kernel's release string.
        kernel: String,
        /// What `io_uring_setup` returned.
        source: io::Error,
        /// A sentence naming the likely cause.
        reason: String,
    },
    /// Any other failure while setting up the ring or its eventfd.
    Io {
        /// Which step failed (`"io_uring_setup"`, `"eventfd"`, ...).
        step: &'static str,
        /// The error.
        source: io::Error,
    },
}

impl SetupError {
    /// The errno behind this error, if there is one.
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            SetupError::KernelTooOld { .. } => None,
            SetupError::Refused { source, .. } | SetupError::Io { source, .. } => {
                source.raw_os_error()
            }
        }
    }
}

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetupError::KernelTooOld { running, required } => write!(
                f,
                "io_uring unavailable: kernel {running} is older than {required} \
                 (boros needs IORING_SETUP_DEFER_TASKRUN, added in Linux {required})"
            ),
            SetupError::Refused {
                kernel,
                source,
                reason,
            } => {
                write!(f, "io_uring refused on kernel {kernel}: {source}; {reason}")
            }
            SetupError::Io { step, source } => write!(f, "{step} failed: {source}"),
        }
    }
}

impl std::error::Error for SetupError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SetupError::KernelTooOld { .. } => None,
            SetupError::Refused { source, .. } | SetupError::Io { source, .. } => Some(source),
        }
    }
}

/// Why an operation was not queued. Nothing reached the ring.
#[derive(Debug)]
pub enum PushError {
    /// The kernel lacks the opcode.
    Unsupported {
        /// The operation's name.
        op: &'static str,
        /// The kernel that added it.
        since: KernelVersion,
        /// The running kernel.
        running: KernelVersion,
    },
    /// Submitting a full submission queue to make room failed.
    Submit(io::Error),
}

impl fmt::Display for PushError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PushError::Unsupported { op, since, running } => write!(
                f,
                "io_uring operation '{op}' needs Linux {since} or newer (running {running})"
            ),
            PushError::Submit(e) => write!(f, "io_uring_enter failed: {e}"),
        }
    }
}

impl std::error::Error for PushError {}

impl From<PushError> for io::Error {
    fn from(e: PushError) -> io::Error {
        match e {
            PushError::Submit(e) => e,
            e @ PushError::Unsupported { .. } => io::Error::new(io::ErrorKind::Unsupported, e),
        }
    }
}

/// So `Runtime::new()?` (and `Driver::new()?`) work in a function returning `io::Result`:
/// the kind follows the errno (`PermissionDenied` for a seccomp refusal...), `Unsupported`
/// for a kernel too old; the message is the `SetupError`'s, which names the cause.
impl From<SetupError> for io::Error {
    fn from(e: SetupError) -> io::Error {
        let kind = match e.raw_os_error() {
            Some(errno) => io::Error::from_raw_os_error(errno).kind(),
            None => io::ErrorKind::Unsupported,
        };
        io::Error::new(kind, e)
    }
}
