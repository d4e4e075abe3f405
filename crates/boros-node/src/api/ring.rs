//! The ring itself: setting it up on this thread, flushing the shared queue, cancelling,
//! counters, and what the kernel supports.

use crate::args;
use crate::js::{self, codes, Result};
use crate::runtime;
use napi::bindgen_prelude::*;
use napi_derive::napi;

/// The wire protocol's digest this binary was built with (see `wire.rs`); the façade's
/// generated `wire.ts` must carry the same.
#[napi]
pub const WIRE_DIGEST: u32 = crate::wire::DIGEST;

/// Sets up this thread's io_uring and hooks it into the event loop. `onComplete(n, m, data, turn)` is
/// called with `n` completions stored as `(token, result)` pairs at the start of `results`
/// (an `Int32Array`; its length / 2 is the most pairs delivered per call) and `m` stream events
/// at the start of `events` (`wire::event`; bytes received are in `data`, a Buffer, undefined
/// when no event carries bytes; `turn` counts the libuv loop's turns, so it changes between two
/// batches exactly when the loop went round between them). Results are byte counts,
/// descriptors, 0, or `-errno`.
///
/// `entries` (`Float64Array`) and `ctl` (`Int32Array`) make the shared submission queue of
/// hot-path reads and writes (see `queue.rs`, laid out as `wire.rs` says); its arena comes
/// later, from `setArena`. `digest` is the façade's `wire.DIGEST`: a façade generated from
/// another protocol is refused. Call once per thread.
///
/// Throws `ERR_BOROS_IO_URING_UNAVAILABLE` (with the reason) when the kernel refuses io_uring.
#[napi]
#[allow(clippy::too_many_arguments)]
pub fn init(
    env: Env,
    digest: u32,
    #[napi(
        ts_arg_type = "(n: number, m: number, segments: Buffer[] | undefined, turn: number) => void"
    )]
    on_complete: Unknown,
    #[napi(ts_arg_type = "Int32Array")] results: Unknown,
    #[napi(ts_arg_type = "Int32Array")] events: Unknown,
    #[napi(ts_arg_type = "Float64Array")] entries: Unknown,
    #[napi(ts_arg_type = "Int32Array")] ctl: Unknown,
) -> Result<()> {
    if digest != crate::wire::DIGEST {
        return Err(js::error(
            codes::UNSUPPORTED_RUNTIME,
            format!(
                "boros: the native binary speaks wire protocol {} (digest {}), the JavaScript façade digest {digest}: they come from different builds; reinstall boros",
                crate::wire::PROTOCOL_VERSION,
                crate::wire::DIGEST
            ),
        ));
    }
    // SAFETY: values come from this call's arguments.
    unsafe {
        runtime::init(
            env.raw(),
            on_complete.raw(),
            results.raw(),
            events.raw(),
            entries.raw(),
            ctl.raw(),
        )
    }
}

/// Hands the shared queue its arena (an `ArrayBuffer` of `ARENA_SLOTS` x `FAST_MAX` bytes plus
/// `ARENA_ALIGN`), which the façade makes at its first read or write through the queue. Returns
/// the offset into `arena` at which page-aligned arena slots start. Once per ring.
#[napi]
pub fn set_arena(#[napi(ts_arg_type = "ArrayBuffer")] arena: Unknown) -> Result<u32> {
    // SAFETY: `arena` is a value of this call, on the ring's JS thread (`with` checks the ring).
    runtime::with(|rt| unsafe { rt.set_arena(arena.raw()) }.map(|offset| offset as u32))
}

/// Pushes the ops queued in the shared submission queue onto the ring (they are submitted
/// before libuv next blocks) and keeps the loop alive for them. The façade calls this when it
/// queues into an empty queue while the loop is not referenced, and when the queue is full.
#[napi]
pub fn flush() -> Result<()> {
    runtime::with(|_| Ok(()))
}

/// Slots of this ring's registered file table as `[size, free]`, or null before its first use
/// (for tests and `doctor`; opens into the table allocate their own slots).
#[napi]
pub fn file_table() -> Result<Option<Vec<u32>>> {
    runtime::with(|rt| {
        Ok(rt
            .driver
            .file_table()
            .map(|(size, free)| vec![size as u32, free as u32]))
    })
}

/// Asks the kernel to cancel an op by key. The op still completes exactly once (with
/// `-ECANCELED` if the cancel won). Returns false if the op already completed.
#[napi]
pub fn cancel(key: f64) -> Result<bool> {
    if !(key >= 0.0 && key.fract() == 0.0 && key < (1u64 << 53) as f64) {
        return Err(js::error(codes::OUT_OF_RANGE, format!("bad op key {key}")));
    }
    runtime::with(|rt| rt.cancel(key as u64))
}

/// Cancels every op in flight on socket `fd` (`Driver::cancel_fd`): a connection's close
/// calls it, before its close, while a send is in flight, which the close alone would leave
/// waiting for room in a socket whose peer stopped reading. Each op still completes once.
#[napi]
pub fn cancel_fd(fd: i32) -> Result<()> {
    let fd = args::fd(fd)?;
    runtime::with(|rt| {
        rt.readiness_forget_fd(fd);
        rt.driver.cancel_fd(fd).map_err(js::push_error)
    })
}

/// Whether an op keeps the event loop alive while it is in flight (every op does until told
/// otherwise): `false` for the armed accept of an unref'd server or the armed receive of an
/// unref'd socket, as `uv_unref` on a libuv handle. Forgotten when the op completes. Returns
/// false if the op already completed.
#[napi]
pub fn set_op_ref(key: f64, referenced: bool) -> Result<bool> {
    if !(key >= 0.0 && key.fract() == 0.0 && key < (1u64 << 53) as f64) {
        return Err(js::error(codes::OUT_OF_RANGE, format!("bad op key {key}")));
    }
    runtime::with(|rt| Ok(rt.set_op_ref(key as u64, referenced)))
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
    /// Buffers of the shared receive group in circulation now (0 before the first receive).
    pub recv_buffers: f64,
    /// The most buffers the shared receive group ever had in circulation.
    pub recv_buffers_most: f64,
    /// Times the shared receive group grew (receives found it empty).
    pub recv_buffer_grows: f64,
    /// Times the shared receive group shrank (demand dropped).
    pub recv_buffer_shrinks: f64,
    /// Receives that ended because the shared group was empty (`-ENOBUFS`; each armed again).
    pub recv_starved: f64,
    /// boros/http zero-copy sends of large bodies (`SENDMSG_ZC`) on this thread.
    pub http_zero_copy_sends: f64,
    /// Of those, the ones the kernel reported it copied after all (loopback always does).
    pub http_zero_copy_copied: f64,
    /// `recv(2)`s that brought bytes to the receive in this thread's readiness slot (the one
    /// socket libuv polls instead of the ring: `runtime/readiness.rs`).
    pub readiness_reads: f64,
}

/// Counters of this thread's ring.
#[napi]
pub fn stats() -> Result<RingStats> {
    runtime::with(|rt| {
        let s = rt.driver.stats();
        let g = rt.driver.shared_buf_ring_if_any().map(|r| r.growth());
        let (zc_sends, zc_copied) = crate::http::zc::counts();
        Ok(RingStats {
            ops_submitted: s.ops_submitted as f64,
            ops_completed: s.ops_completed as f64,
            enter_calls: s.enter_calls as f64,
            batches: s.batches as f64,
            in_flight: s.in_flight as f64,
            recv_buffers: g.map_or(0.0, |g| g.circulating as f64),
            recv_buffers_most: g.map_or(0.0, |g| g.most as f64),
            recv_buffer_grows: g.map_or(0.0, |g| g.grows as f64),
            recv_buffer_shrinks: g.map_or(0.0, |g| g.shrinks as f64),
            recv_starved: g.map_or(0.0, |g| g.starved as f64),
            http_zero_copy_sends: zc_sends as f64,
            http_zero_copy_copied: zc_copied as f64,
            readiness_reads: rt.readiness_reads() as f64,
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
    /// Why the rings are smaller than boros asks for (locked memory was short), if they are.
    pub shrunk: Option<String>,
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
            shrunk: i.shrunk.clone(),
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
    /// Why a ring set up here is smaller than boros asks for (locked memory was short), if it is.
    pub shrunk: Option<String>,
    /// Every operation boros uses, with the kernel it needs and whether this kernel has it.
    pub ops: Vec<OpSupport>,
}

/// Sets up (and drops) a ring to see whether io_uring works here, and why not if it does not.
/// Does not need `init`.
#[napi]
pub fn probe() -> ProbeReport {
    let kernel = boros::kernel::release();
    let (ok, reason, errno, support, shrunk) = match boros::Driver::new() {
        Ok(d) => (
            true,
            None,
            None,
            Some(d.info().support.clone()),
            d.info().shrunk.clone(),
        ),
        Err(e) => (false, Some(e.to_string()), e.raw_os_error(), None, None),
    };
    ProbeReport {
        ok,
        reason,
        errno,
        kernel,
        io_uring_disabled: boros::setup::io_uring_disabled().map(u32::from),
        seccomp_filtered: boros::setup::seccomp_filtered(),
        shrunk,
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

/// Test hook: the next `count` `io_uring_enter` calls of this thread fail with `errno` (nothing
/// reaches the kernel), to test what a failed submit does to the ops it carried. Refused
/// (`ERR_BOROS_UNSUPPORTED_RUNTIME`) unless the environment has `BOROS_TEST_FAULTS=1`.
#[napi]
pub fn fail_next_enter(errno: u32, count: u32) -> Result<()> {
    if std::env::var_os("BOROS_TEST_FAULTS").is_none_or(|v| v != "1") {
        return Err(js::error(
            codes::UNSUPPORTED_RUNTIME,
            "failNextEnter is a test hook: set BOROS_TEST_FAULTS=1".to_owned(),
        ));
    }
    boros::fail_next_enter(errno as i32, count);
    Ok(())
}
