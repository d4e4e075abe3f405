//! Node.js binding of boros: one io_uring per JS thread, driven from libuv.
//!
//! Read it bottom-up; each layer imports only the ones above it in this list:
//! - [`wire`]: the protocol shared with the TypeScript façade, defined once (the façade's
//!   `src-ts/wire.ts` is generated from it);
//! - [`js`], [`args`], [`uv`]: JS errors and pinned buffers, argument checks, libuv symbols;
//! - memory the kernel may touch: [`lent`] (the one pointer-and-length `IoBuf`), [`bounce`],
//!   [`pool_mem`], [`owned`];
//! - [`complete`]: the [`NodeOp`](complete::NodeOp) trait, how each op finishes itself;
//! - [`ops`]: the ops, one file each;
//! - [`recv_group`]: the thread's shared receive group (provided buffers), for sockets and HTTP;
//! - [`queue`]: the shared submission queue (hot-path reads and writes with no N-API call);
//! - [`http`]: the HTTP engine's connections (parse, respond) on the ring;
//! - [`runtime`]: the per-thread ring, its libuv handles, reap → finish → one JS call per batch;
//! - [`api`]: the exported calls, each building one op and queuing it.
//!
//! `scripts/check-cycles.mjs` checks that no import cycle creeps in.

// Under `cfg(test)` napi-derive registers nothing, so the exported functions look unused.
#![cfg_attr(test, allow(dead_code))]

pub mod api;
mod args;
mod bounce;
mod complete;
mod fds;
mod http;
mod idle_writeback;
mod js;
mod lent;
mod ops;
mod owned;
mod pool_mem;
mod queue;
mod recv_group;
mod runtime;
mod segments;
mod uv;
pub mod wire;
