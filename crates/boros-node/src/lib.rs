//! Node.js binding of boros: one io_uring per JS thread, driven from libuv.
//!
//! This crate is thin on purpose. [`runtime`] owns the per-thread ring and its libuv
//! handles; [`ops`] turns JS arguments into core ops and finishes their completions; [`js`]
//! pins JS buffers and builds every JS error. The exported functions below are the
//! low-level API the TypeScript façade (`src-ts/`) is built on: each queues one SQE and
//! returns its key; results come back in batches through the handler given to [`init`].

// Under `cfg(test)` napi-derive registers nothing, so the exported functions look unused.
#![cfg_attr(test, allow(dead_code))]

mod args;
mod bufring;
pub mod direct;
mod files;
mod js;
mod ops;
pub mod paths;
pub mod pool;
mod queue;
mod runtime;
mod uv;

use js::{codes, JsBuf, Result};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use ops::{token, StatOut, KIND_PLAIN, KIND_STAT};

/// Sets up this thread's io_uring and hooks it into the event loop. `onComplete(n)` is called
/// with `n` completions stored as `(token, result)` pairs at the start of `results`
/// (an `Int32Array`; its length / 2 is the most pairs delivered per call). Results are
/// byte counts, descriptors, 0, or `-errno`.
///
/// `entries` (`Float64Array`), `ctl` (`Int32Array`) and `arena` (`ArrayBuffer`) make the shared
/// submission queue of hot-path reads and writes (see `queue.rs`). Returns the offset into
/// `arena` at which page-aligned arena slots start. Call once per thread.
///
/// Throws `ERR_BOROS_IO_URING_UNAVAILABLE` (with the reason) when the kernel refuses io_uring.
#[napi]
pub fn init(
    env: Env,
    on_complete: Unknown,
    results: Unknown,
    entries: Unknown,
    ctl: Unknown,
    arena: Unknown,
) -> Result<u32> {
    // SAFETY: values come from this call's arguments.
    unsafe {
        runtime::init(
            env.raw(),
            on_complete.raw(),
            results.raw(),
            entries.raw(),
            ctl.raw(),
            arena.raw(),
        )
    }
}

/// Pushes the ops queued in the shared submission queue onto the ring (they are submitted
/// before libuv next blocks) and keeps the loop alive for them. The façade calls this when it
/// queues into an empty queue while the loop is not referenced, and when the queue is full.
#[napi]
pub fn flush() -> Result<()> {
    runtime::with(|_| Ok(()))
}

/// Queues a read of `length` bytes at `position` (-1: current position) on `file` (a
/// descriptor, or a direct descriptor as `-2 - slot`) into `buffer[offset..]`, through an
/// op-owned bounce buffer copied out at completion. Returns the op's key (for `cancel`).
#[napi]
pub fn read(
    env: Env,
    file: i32,
    buffer: Unknown,
    offset: u32,
    length: u32,
    position: i64,
    token_id: u32,
) -> Result<f64> {
    let range = (offset, length, args::position(position)?);
    // SAFETY: `buffer` is an argument of this call, on the JS thread.
    unsafe {
        ops::queue_read_copy(
            env.raw(),
            args::target(file)?,
            buffer.raw(),
            range,
            token_id,
        )
    }
}

/// Queues a write of `buffer[offset..offset+length]` at `position` (-1: current position) on
/// `file` (a descriptor or `-2 - slot`). The buffer is held (not copied) until the write completes.
#[napi]
pub fn write(
    env: Env,
    file: i32,
    buffer: Unknown,
    offset: u32,
    length: u32,
    position: i64,
    token_id: u32,
) -> Result<f64> {
    let range = (offset, length, args::position(position)?);
    // SAFETY: as in `read`.
    unsafe {
        ops::queue_write_pinned(
            env.raw(),
            args::target(file)?,
            buffer.raw(),
            range,
            token_id,
        )
    }
}

/// Queues `openat(AT_FDCWD, path, flags | O_CLOEXEC, mode)`; completes with the descriptor.
#[napi]
pub fn open(path: String, flags: i32, mode: u32, token_id: u32) -> Result<f64> {
    let path = args::cstring(path, "path")?;
    runtime::with(|rt| {
        let op = boros::op::OpenAt::new(path, flags, mode);
        rt.queue(Box::new(op), token(KIND_PLAIN, token_id))
    })
}

/// Queues the close of `file` (a descriptor, or `-2 - slot`: the direct descriptor's slot is
/// emptied).
#[napi]
pub fn close(file: i32, token_id: u32) -> Result<f64> {
    let t = args::target(file)?;
    runtime::with(|rt| {
        rt.queue(
            Box::new(boros::op::Close::new(t)),
            token(KIND_PLAIN, token_id),
        )
    })
}

/// Queues `fsync`, or `fdatasync` when `datasync` is true, on `file` (a descriptor or `-2 - slot`).
#[napi]
pub fn fsync(file: i32, datasync: bool, token_id: u32) -> Result<f64> {
    let t = args::target(file)?;
    runtime::with(|rt| {
        let mut op = boros::op::Fsync::new(t);
        if datasync {
            op = op.datasync();
        }
        rt.queue(Box::new(op), token(KIND_PLAIN, token_id))
    })
}

/// Queues `statx` of `path` (or of `fd` when `path` is null) and writes the result into
/// `out`, a `Float64Array` of 18: dev, mode, nlink, uid, gid, rdev, blksize, ino, size,
/// blocks, then seconds and nanoseconds of atime, mtime, ctime and birthtime.
#[napi]
pub fn statx(
    env: Env,
    path: Option<String>,
    fd: i32,
    follow: bool,
    out: Unknown,
    token_id: u32,
) -> Result<f64> {
    let statx = match path {
        Some(p) => boros::op::Statx::path(args::cstring(p, "path")?, follow),
        None => boros::op::Statx::fd(fd),
    };
    runtime::with(|rt| {
        // SAFETY: as in `read`.
        let out = unsafe { JsBuf::new(env.raw(), out.raw())? };
        if out.len() < ops::STAT_FIELDS * 8 {
            return Err(js::error(
                codes::OUT_OF_RANGE,
                "stat output array too short",
            ));
        }
        rt.queue(Box::new(StatOut { statx, out }), token(KIND_STAT, token_id))
    })
}

/// Queues a no-op (completes with 0): a round trip through the ring.
#[napi]
pub fn nop(token_id: u32) -> Result<f64> {
    runtime::with(|rt| rt.queue(Box::new(boros::op::Nop), token(KIND_PLAIN, token_id)))
}

/// Asks the kernel to cancel an op by key. The op still completes exactly once (with
/// `-ECANCELED` if the cancel won). Returns false if the op already completed.
#[napi]
pub fn cancel(key: f64) -> Result<bool> {
    runtime::with(|rt| rt.cancel(key))
}

/// Counters of this thread's ring.
#[napi(object)]
pub struct RingStats {
    /// Operations handed to the kernel.
    pub ops_submitted: f64,
    /// Operations whose final completion was reaped.
    pub ops_completed: f64,
    /// `io_uring_enter` system calls.
    pub enter_calls: f64,
    /// `io_uring_enter` calls that submitted at least one entry.
    pub batches: f64,
    /// Operations queued or in flight.
    pub in_flight: f64,
}

/// Counters of this thread's ring.
#[napi]
pub fn stats() -> Result<RingStats> {
    runtime::with(|rt| {
        let s = rt.driver.stats();
        Ok(RingStats {
            ops_submitted: s.ops_submitted as f64,
            ops_completed: s.ops_completed as f64,
            enter_calls: s.enter_calls as f64,
            batches: s.batches as f64,
            in_flight: s.in_flight as f64,
        })
    })
}

/// How this thread's ring was set up.
#[napi(object)]
pub struct RingInfo {
    /// The running kernel's release (`uname -r`).
    pub kernel: String,
    /// `IORING_SETUP_*` flags in force, without the prefix.
    pub setup_flags: Vec<String>,
    /// Submission queue entries.
    pub sq_entries: u32,
    /// Completion queue entries.
    pub cq_entries: u32,
    /// io_uring operations this kernel supports.
    pub ops: Vec<String>,
}

/// How this thread's ring was set up.
#[napi]
pub fn ring_info() -> Result<RingInfo> {
    runtime::with(|rt| {
        let i = rt.driver.info();
        Ok(RingInfo {
            kernel: i.kernel.clone(),
            setup_flags: i.setup_flags.iter().map(|s| s.to_string()).collect(),
            sq_entries: i.sq_entries,
            cq_entries: i.cq_entries,
            ops: i.support.names().into_iter().map(String::from).collect(),
        })
    })
}

/// One io_uring operation and whether this kernel has it.
#[napi(object)]
pub struct OpSupport {
    /// Operation name.
    pub name: String,
    /// The Linux version that added it.
    pub since: String,
    /// Whether the running kernel has it.
    pub supported: bool,
}

/// What a throwaway ring setup says about this machine (for `boros doctor`).
#[napi(object)]
pub struct ProbeReport {
    /// Whether a ring with the flags boros needs could be set up.
    pub ok: bool,
    /// Why not, when `ok` is false.
    pub reason: Option<String>,
    /// errno of the failed setup, if any.
    pub errno: Option<i32>,
    /// The running kernel's release.
    pub kernel: String,
    /// `kernel.io_uring_disabled`, if the sysctl exists (Linux 6.6+).
    pub io_uring_disabled: Option<u32>,
    /// Whether a seccomp filter is active for this process.
    pub seccomp_filtered: bool,
    /// Every operation boros uses, with the kernel it needs and whether this kernel has it.
    pub ops: Vec<OpSupport>,
}

/// Sets up (and drops) a ring to see whether io_uring works here, and why not if it does not.
/// Does not need `init`.
#[napi]
pub fn probe() -> ProbeReport {
    let kernel = boros::kernel::release();
    let (ok, reason, errno, support) = match boros::Driver::new() {
        Ok(d) => (true, None, None, Some(d.info().support.clone())),
        Err(e) => (false, Some(e.to_string()), e.raw_os_error(), None),
    };
    ProbeReport {
        ok,
        reason,
        errno,
        kernel,
        io_uring_disabled: boros::setup::io_uring_disabled().map(u32::from),
        seccomp_filtered: boros::setup::seccomp_filtered(),
        ops: boros::probe::OPS
            .iter()
            .map(|o| OpSupport {
                name: o.name.to_string(),
                since: o.since.to_string(),
                supported: support.as_ref().is_some_and(|s| s.has(o.opcode)),
            })
            .collect(),
    }
}
