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
//! use boros::{completions, op, Driver};
//! use std::os::fd::AsRawFd;
//!
//! let file = std::fs::File::open("/etc/hostname")?;
//! let mut driver = Driver::new()?;
//! driver.push(Box::new(op::Read::new(file.as_raw_fd(), Vec::with_capacity(4096), 0)), 1)?;
//! driver.wait(1, None)?;
//! driver.reap(completions(|mut c| {
//!     let n = c.result().expect("read failed");
//!     let buf = c.take_op::<op::Read<Vec<u8>>>().unwrap().into_buf(n);
//!     println!("{}", String::from_utf8_lossy(&buf));
//! }))?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Modules follow the kernel's concepts: [`setup`] (ring flags, diagnosis), [`probe`]
//! (opcodes and the kernels that added them), [`op`] (one file per operation), [`buf`]
//! (buffer ownership), [`bufring`] (provided buffer rings), [`fixed`] (registered buffers
//! and files), [`net`] (socket addresses, the plain socket system calls, what the kernel
//! can do with sockets on the ring) and [`Driver`] (push, submit, reap).
//!
//! ## Layers
//! Each module uses only modules below it (`node scripts/check-cycles.mjs` checks it), and
//! nothing but this file names the crate root:
//! - `kernel`, `buf`, `slab`: no other module;
//! - `error`, `probe` (kernel); `bufring` (buf); `fixed`; `setup` (error, kernel, probe);
//! - `net` (kernel, setup); `ring` (error); then `op` (buf, bufring, net);
//! - `cqe` (bufring, error, op, slab); `complete` (cqe, op); `groups` (bufring);
//!   `inflight` (cqe, fixed, groups, op, ring, slab);
//! - `driver`: all of them; `reap` (completions to their ops), `resources` (registration
//!   calls on the driver), `chain` (linked chains), `abandon` (giving up on ops) and
//!   `multishot` (what a multishot CQE means, the queue that holds them for a consumer):
//!   above it.
//!
//! ## Sockets
//! TCP, UDP and Unix sockets run on the ring: [`op::Socket`], [`op::Bind`]/[`op::Listen`]
//! (6.11; [`net::bind`]/[`net::listen`] before), [`op::Accept`] and multishot
//! [`op::AcceptMulti`], [`op::Connect`], [`op::Send`]/[`op::SendMsg`]/[`op::SendZc`] (zero
//! copy: two CQEs, the buffer held until the notification), [`op::Recv`] and multishot
//! [`op::RecvMulti`] into a [`BufRing`] (with recv bundles on 6.10+), [`op::Shutdown`],
//! [`op::SetSockOpt`]/[`op::GetSockOpt`] (6.7), [`op::PollAdd`], and deadlines with
//! [`op::Timeout`] and [`op::LinkTimeout`]. Addresses are owned [`SockAddr`]s. The
//! [`net`] module says how multishot ops end and are re-armed without losing a byte, and
//! what a cancelled accept or recv may still deliver. The `echo_server` and `echo_client`
//! examples are an echo server and a load generator on this crate alone.

#![deny(missing_docs)]

mod abandon;
pub mod buf;
pub mod bufring;
mod chain;
mod complete;
mod cqe;
mod driver;
pub mod error;
pub mod fixed;
mod groups;
mod inflight;
pub mod kernel;
pub mod multishot;
pub mod net;
pub mod op;
pub mod probe;
mod reap;
mod resources;
mod ring;
pub mod setup;
pub mod slab;

pub use bufring::{BufRing, Growth, Lease};
pub use complete::{finish, finish_into, Complete};
pub use cqe::{completions, Completion, Cqe, OpRef, CANCEL_TAG};
pub use driver::Driver;
pub use error::{PushError, SetupError};
pub use fixed::{RegisterError, Releases};
/// The `io-uring` crate boros builds on, for implementing [`op::OpCode`] outside this crate.
pub use io_uring;
pub use kernel::KernelVersion;
pub use net::SockAddr;
pub use ring::{fail_next_enter, Stats};
pub use setup::{Config, RingInfo, TaskRun};
pub use slab::OpKey;
