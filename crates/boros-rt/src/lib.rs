//! # boros-rt
//!
//! An async runtime on the [`boros`] io_uring core: one ring per thread
//! (`SINGLE_ISSUER | DEFER_TASKRUN`), `!Send` tasks, and a loop of three phases:
//!
//! 1. **run** every ready task; tasks queue SQEs, no system call happens;
//! 2. when nothing is ready, **submit** every queued SQE and **wait**, in one `io_uring_enter`;
//! 3. **reap** every completion into its op's slot and wake the op's task.
//!
//! ```no_run
//! use boros_rt::fs::File;
//!
//! boros_rt::block_on(async {
//!     let file = File::open("/etc/hostname").await?;
//!     let (n, buf) = file.read_at(Vec::with_capacity(4096), 0).await;
//!     print!("{}", String::from_utf8_lossy(&buf[..n?]));
//!     Ok::<(), std::io::Error>(())
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! Ops take owned buffers and give them back with the result. Dropping an op's future
//! cancels the op in the kernel; the ring keeps the op, with its buffers, until its final
//! completion, so the kernel never writes into freed memory. See the crate README for the
//! guide.

#![deny(missing_docs)]
// A doc example that drops a `#[must_use]` value (a `JoinHandle`, a `Result`) fails the doctests.
#![doc(test(attr(deny(unused_must_use))))]

/// The README's examples, compiled as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

mod blocking;
pub mod buf;
pub mod cancel;
pub mod compat;
mod copy;
mod file;
pub mod fixed;
pub mod fs;
pub mod future;
mod metadata;
pub mod net;
pub mod op;
pub mod recv;
mod runtime;
mod socket;
mod task;
pub mod thread;
pub mod time;
mod udp;
mod vectored;
mod zc;

/// The core this runtime drives, for its op types (`boros::op::*`, also re-exported as
/// [`op`]'s items), buffer rings and probes.
pub use boros;
pub use boros::{Config, KernelVersion, OpKey, PushError, RingInfo, SetupError, Stats};
pub use runtime::{
    block_on, ring_info, spawn, spawn_local, stats, yield_now, Runtime, RuntimeStats, YieldNow,
};
pub use task::{JoinError, JoinHandle, JoinSet};
