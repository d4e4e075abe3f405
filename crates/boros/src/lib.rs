//! # boros
//!
//! The io_uring core of boros: one ring per thread, set up with `SINGLE_ISSUER |
//! DEFER_TASKRUN`, every queued operation submitted in one `io_uring_enter`, completions
//! reaped in batches, and every byte the kernel may touch owned by its operation until the
//! operation's final completion.
//!
//! It has no Node dependency: the `boros-node` crate drives it from libuv, and a Rust program
//! can drive it directly:
//!
//! ```no_run
//! use boros::{op, Driver};
//! use std::os::fd::AsRawFd;
//!
//! let file = std::fs::File::open("/etc/hostname")?;
//! let mut driver = Driver::new()?;
//! driver.push(Box::new(op::Read::new(file.as_raw_fd(), Vec::with_capacity(4096), 0)), 1)?;
//! driver.wait(1, None)?;
//! driver.reap(|mut c| {
//!     let n = c.result().expect("read failed");
//!     let buf = c.take_op::<op::Read<Vec<u8>>>().unwrap().into_buf(n);
//!     println!("{}", String::from_utf8_lossy(&buf));
//! })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Modules follow the kernel's concepts: [`setup`] (ring flags, diagnosis), [`probe`]
//! (opcodes and the kernels that added them), [`op`] (one file per operation), [`buf`]
//! (buffer ownership), and [`Driver`] (push, submit, reap).

#![deny(missing_docs)]

pub mod buf;
pub mod bufring;
mod driver;
pub mod error;
pub mod fixed;
pub mod kernel;
pub mod net;
pub mod op;
pub mod probe;
pub mod setup;
mod slab;

pub use bufring::{BufRing, Lease};
pub use driver::{Completion, Driver, Stats, CANCEL_TAG};
pub use error::{PushError, SetupError};
pub use fixed::RegisterError;
/// The `io-uring` crate boros builds on, for implementing [`op::OpCode`] outside this crate.
pub use io_uring;
pub use kernel::KernelVersion;
pub use net::SockAddr;
pub use setup::{Config, RingInfo};
pub use slab::OpKey;
