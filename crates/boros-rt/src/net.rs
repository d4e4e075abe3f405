//! Sockets: the place for `TcpListener`, `TcpStream`, `UnixListener` and `UnixStream`.
//!
//! They arrive once the core crate has its socket ops (the `net-core` work: `op::Socket`,
//! `op::Accept` (multishot, Linux 5.19), `op::Connect`, `op::Recv` (multishot with a provided
//! buffer ring, Linux 6.0), `op::Send`/`SendZc`). The plan, so the pieces fit the loop as it is:
//!
//! - every socket op is an [`Op`](crate::op::Op) future, owned buffers in, `(io::Result, buf)`
//!   out, with the same cancellation rule as files: dropping the future cancels the op and the
//!   driver keeps its memory until the final CQE; an accept cancelled too late still yields
//!   a descriptor, which the runtime closes (`Abandon::CloseFd`, as for a dropped open);
//! - multishot accept and recv need the runtime to deliver *non-final* CQEs to a future
//!   (today the reap ignores them, having no multishot op): a slot state holding a queue of
//!   `(result, flags)` for a stream, fed by the driver's `reap_ops`, re-armed on ENOBUFS;
//! - `thread::Builder` gives each thread its own listener with `SO_REUSEPORT`.
//!
//! Until then, a program can use [`op::submit`](crate::op::submit) with its own
//! [`boros::op::OpCode`] implementations for socket ops.
