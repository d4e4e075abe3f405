//! One runtime per JS thread: its ring, and how libuv drives it.
//!
//! libuv's loop, each turn: timers -> pending -> idle -> **prepare** -> poll (blocks) -> check -> close.
//! - JS calls (`read`, `open`, ...) only queue SQEs: no syscall.
//! - The **prepare** callback, which runs just before libuv blocks, submits everything queued
//!   in one `io_uring_enter`.
//! - libuv **polls the ring's own descriptor** (readable while CQEs wait; with
//!   `BOROS_TASKRUN=defer`, the registered eventfd instead: see [`lifecycle`]); when it fires,
//!   `on_poll` reaps every CQE, lets each
//!   op finish itself ([`NodeOp`]: copies, stat records, chunks of a multishot read), and
//!   hands the batch of `(token, result)` pairs to JS in one call inside a callback
//!   scope, so promise reactions run as after any Node I/O callback. The ops those reactions
//!   queue are submitted right away, up to `MAX_ROUNDS` rounds, then left to the next prepare.
//! - The poll handle is referenced only while ops are in flight, so an idle process exits.
//!   Ops marked unreferenced (`setOpRef`: an unref'd server's armed accept, an unref'd
//!   socket's armed receive) do not count, as an unref'd libuv handle does not.
//! - Teardown (worker exit, env cleanup) runs as an async cleanup hook: cancel everything,
//!   let the loop collect every last CQE, close the uv handles, then free the ring.

use crate::bounce::BounceBuffers;
use crate::complete::{FollowUp, JsBatch, NodeOp};
use crate::js::{self, codes, Result};
use crate::queue::SharedQueue;
use crate::uv::{self, Handle, Uv};
use boros::{Cqe, Driver, OpRef};
use napi::sys;
use std::cell::{Cell, RefCell};
use std::ffi::c_int;
use std::ptr;

mod deliver;
mod lifecycle;
mod readiness;

use crate::segments::Segments;
use deliver::deliver;
pub use lifecycle::init;
pub(crate) use readiness::ReadinessKey;

/// Rounds of reap -> JS -> submit done inside one poll callback before yielding to libuv.
const MAX_ROUNDS: usize = 16;

pub struct Runtime {
    env: sys::napi_env,
    pub driver: Driver<dyn NodeOp>,
    uv: &'static Uv,
    /// This env's libuv loop.
    uv_loop: *mut uv::Loop,
    /// The uv_poll libuv sleeps on: the ring fd, or the eventfd when the kernel signals that
    /// (`BOROS_TASKRUN=defer`). The one handle that is ever referenced.
    poll: *mut Handle,
    prepare: *mut Handle,
    /// While the ring fd is polled: a second uv_poll, on the (unregistered) eventfd, which only
    /// [`Runtime::signal`] makes readable (results with no CQE, a backlog). Null otherwise.
    wake: *mut Handle,
    /// Whether [`Runtime::signal`] wrote to the eventfd since it was last read (always treated
    /// as true while the kernel signals it).
    signalled: bool,
    referenced: bool,
    closing: bool,
    /// libuv loop turns seen (one per prepare callback), handed to JS with every batch: what
    /// tells a receive's end that arrives in the turn of its data (`net/connection.ts`).
    turn: u32,
    open_handles: u8,
    cleanup_hook: sys::napi_async_cleanup_hook_handle,
    on_complete: sys::napi_ref,
    results_ref: sys::napi_ref,
    results: *mut i32,
    results_pairs: usize,
    /// The pinned events `Int32Array` (see `wire::event`), and how many events it holds.
    events_ref: sys::napi_ref,
    events_view: *mut i32,
    events_cap: usize,
    async_ctx: sys::napi_async_context,
    pub bounce: BounceBuffers,
    /// Hot-path reads and writes the façade queued in shared memory (see queue.rs).
    queue: SharedQueue,
    /// Completions finished but not yet handed to JS (more than fit in `results`).
    ready: Vec<(u32, i32)>,
    /// Work ops left for after the reap (see [`FollowUp`]).
    later: Vec<FollowUp>,
    /// Stream events not yet handed to JS, and the segments their bytes are in.
    events: Vec<crate::wire::event::Event>,
    segments: Segments,
    /// The receive libuv polls for instead of the ring (see `readiness.rs`).
    readiness: readiness::Slot,
    /// Keys of in-flight ops that do not keep the loop alive (see [`Runtime::set_op_ref`]).
    unreferenced: std::collections::HashSet<u64>,
    /// This thread's chunk streams by id (`api/chunks.rs`). A closed stream's entry is reused
    /// once its read ended.
    pub chunk_streams: Vec<std::rc::Rc<crate::ops::ChunkStream>>,
    /// This thread's buffer pools by id, for the ops queued in shared memory.
    pub pools: crate::pool_mem::Pools,
}

type RuntimeCell = RefCell<Runtime>;

thread_local! {
    /// This thread's runtime. Node runs one env per thread (main thread or worker).
    static CURRENT: Cell<*const RuntimeCell> = const { Cell::new(ptr::null()) };
}

/// Runs `f` with this thread's runtime.
pub fn with<T>(f: impl FnOnce(&mut Runtime) -> Result<T>) -> Result<T> {
    let p = CURRENT.with(Cell::get);
    if p.is_null() {
        return Err(js::error(
            codes::NOT_INITIALIZED,
            "boros: the runtime is not initialized on this thread",
        ));
    }
    // SAFETY: the pointer is set by `init` and cleared before the runtime is freed; only this
    // thread sees it.
    let cell = unsafe { &*p };
    let mut rt = cell
        .try_borrow_mut()
        .map_err(|_| js::error(codes::CLOSED, "boros: re-entrant call into the runtime"))?;
    if rt.closing {
        return Err(js::error(
            codes::CLOSED,
            "boros: the runtime is shutting down",
        ));
    }
    // The ops the façade queued in shared memory first, so every op keeps its order (the
    // driver empties the table slots of dropped pool memory before it pushes).
    rt.drain_queue();
    let out = f(&mut rt)?;
    rt.update_ref();
    Ok(out)
}

pub fn is_initialized() -> bool {
    !CURRENT.with(Cell::get).is_null()
}

impl Runtime {
    /// Hands the shared queue its arena; returns the slots' offset into it (see
    /// [`SharedQueue::set_arena`]).
    ///
    /// # Safety
    /// On this runtime's JS thread, with a value of the current call.
    pub unsafe fn set_arena(&mut self, arena: sys::napi_value) -> Result<usize> {
        // SAFETY: forwarded contract.
        unsafe { self.queue.set_arena(arena) }
    }

    /// Pushes the ops the façade queued in shared memory onto the ring.
    fn drain_queue(&mut self) {
        let Runtime {
            driver,
            queue,
            pools,
            ready,
            ..
        } = self;
        let before = ready.len();
        queue.drain(driver, pools, |token, errno| ready.push((token, errno)));
        if ready.len() > before {
            // Refused entries complete at once: wake the poll callback to deliver them.
            self.signal();
        }
    }

    /// Wakes the poll callback on the loop's next turn for results no CQE announces (settled
    /// without an op, a CQ backlog, a submit to retry).
    fn signal(&mut self) {
        self.driver.signal_eventfd();
        self.signalled = true;
    }

    /// Resets the eventfd before looking for work one last time: always while the kernel
    /// signals it; while the ring fd is polled, only if [`signal`](Self::signal) wrote to it
    /// (the ring fd itself has nothing to reset: it stays readable exactly while CQEs wait).
    fn clear_signal(&mut self) {
        if self.wake.is_null() || self.signalled {
            self.driver.clear_eventfd();
            self.signalled = false;
        }
    }

    /// Lets the HTTP engine push what its connections need now (sends, receives, closes):
    /// called before each submit, so a turn's responses leave together.
    pub(crate) fn flush_http(&mut self) {
        for key in crate::http::flush(&mut self.driver) {
            self.unreferenced.insert(key);
        }
    }

    /// Keeps the loop alive exactly while referenced ops are in flight.
    fn update_ref(&mut self) {
        // `events`: the readiness slot's last event (a cancel's, outside any reap) waits for
        // the next poll callback like a completion.
        let want = self.driver.in_flight() > self.unreferenced.len()
            || !self.ready.is_empty()
            || !self.events.is_empty()
            || self.queue.queued() > 0;
        if want != self.referenced {
            // SAFETY: the poll handle is open (closing handles are never re-referenced).
            unsafe {
                if want {
                    (self.uv.r#ref)(self.poll)
                } else {
                    (self.uv.unref)(self.poll)
                }
            };
            self.referenced = want;
            self.queue.set_referenced(want);
        }
    }

    /// Settles `token` with `result` without an op (a call refused for a reason JS handles like
    /// a failed op): delivered with the next batch, as a completion would be.
    pub fn settle_now(&mut self, token: u32, result: i32) {
        self.ready.push((token, result));
        self.signal();
    }

    /// Asks for the op of `key` to end (the readiness slot's receive ends at once; a ring op
    /// completes once, with `-ECANCELED` if the kernel's cancel won). False if it already ended.
    pub fn cancel(&mut self, key: u64) -> Result<bool> {
        if ReadinessKey::is_one(key) {
            return Ok(self.readiness_cancel(key));
        }
        self.driver
            .cancel(boros::OpKey::from_u64(key))
            .map_err(js::push_error)
    }

    /// Whether the op of `key` keeps the loop alive while in flight (every op does, until
    /// this says otherwise). Returns false for a key whose op already completed.
    pub fn set_op_ref(&mut self, key: u64, referenced: bool) -> bool {
        if ReadinessKey::is_one(key) {
            return self.readiness_set_ref(key, referenced);
        }
        if !self.driver.is_in_flight(boros::OpKey::from_u64(key)) {
            self.unreferenced.remove(&key);
            return false;
        }
        if referenced {
            self.unreferenced.remove(&key);
        } else {
            self.unreferenced.insert(key);
        }
        true
    }

    /// Queues one op and returns its key as a JS number (for `cancel`).
    pub fn queue(&mut self, op: Box<dyn NodeOp>) -> Result<f64> {
        let key = self.driver.push(op, 0).map_err(js::push_error)?;
        Ok(key.as_u64() as f64)
    }

    /// As [`queue`](Self::queue), with `IOSQE_ASYNC` when `punt`: the kernel hands the op to an
    /// io-wq worker at once instead of first trying it without blocking (for buffered writes the
    /// filesystem would refuse to do without blocking anyway: see docs/files-internals.md).
    pub fn queue_punted(&mut self, op: Box<dyn NodeOp>, punt: bool) -> Result<f64> {
        let flags = if punt {
            boros::io_uring::squeue::Flags::ASYNC
        } else {
            boros::io_uring::squeue::Flags::empty()
        };
        let key = self
            .driver
            .push_with(op, 0, flags)
            .map_err(js::push_error)?;
        Ok(key.as_u64() as f64)
    }

    /// Reaps every completion, letting each op finish itself into `ready`; then does the work
    /// the ops left for after the reap.
    fn reap(&mut self) -> usize {
        let before = self.ready.len();
        self.reap_once();
        // Work left by the ops (closes of slots a readFile chain ended with, freed slots). A
        // queued close is submitted and reaped now, before JS hears of the chain: a direct close
        // completes inline, so a resolved readFile leaves nothing in flight. Not when the ring
        // is going away: it closes every slot itself.
        for _ in 0..2 {
            if !self.run_later() {
                break;
            }
            self.submit();
            self.reap_once();
        }
        self.ready.len() - before
    }

    fn reap_once(&mut self) {
        let reaped = self.finish_with(|driver, sink| driver.reap(sink));
        if let Err(e) = reaped {
            self.submit_failed(e);
        }
    }

    /// The batch what is finished now goes into (for work outside a reap: the readiness slot's
    /// reads).
    fn batch(&mut self) -> JsBatch<'_> {
        JsBatch {
            settled: &mut self.ready,
            bounce: &mut self.bounce,
            later: &mut self.later,
            events: &mut self.events,
            segments: &mut self.segments,
        }
    }

    /// Hands the driver to `f` with the sink every op finishes into: `update` at each CQE of
    /// a multishot op, `complete` at its final one (what they settle lands in `ready`/`events`).
    fn finish_with<R>(
        &mut self,
        f: impl FnOnce(&mut Driver<dyn NodeOp>, &mut dyn FnMut(Cqe, OpRef<'_, dyn NodeOp>)) -> R,
    ) -> R {
        let Runtime {
            driver,
            bounce,
            ready,
            later,
            events,
            segments,
            unreferenced,
            ..
        } = self;
        let mut cx = JsBatch {
            settled: ready,
            bounce,
            later,
            events,
            segments,
        };
        let mut sink = |cqe: Cqe, op: OpRef<'_, dyn NodeOp>| {
            if let OpRef::Done(_) = op {
                if !unreferenced.is_empty() {
                    unreferenced.remove(&cqe.key.as_u64());
                }
            }
            boros::finish(&mut cx, cqe, op)
        };
        f(driver, &mut sink)
    }

    /// Submits what is queued (see [`submit_failed`](Self::submit_failed) for a failure).
    fn submit(&mut self) {
        if self.driver.dead().is_some() {
            // Given up: its SQ keeps the entries that failed; later pushes fail at once.
            return;
        }
        if let Err(e) = self.driver.submit() {
            self.submit_failed(e);
        }
    }

    /// Submits what is queued and lets the kernel finish the work it deferred (a cancelled
    /// op's completion, which releases its file) now, not when libuv next polls
    /// ([`Driver::run_kernel_work`]). A failure is handled as [`submit`](Self::submit)'s.
    pub(crate) fn run_kernel_work(&mut self) {
        if self.driver.dead().is_some() {
            return;
        }
        if let Err(e) = self.driver.run_kernel_work(4) {
            self.submit_failed(e);
        }
    }

    /// An `io_uring_enter` failed (the core already retried `EINTR`, and `EBUSY`/`EAGAIN`
    /// after moving the CQ aside). `EAGAIN`/`EBUSY`/`ENOMEM` pass: the entries stay queued and
    /// the eventfd is signalled, so the next poll callback reaps and enters again. Any other
    /// errno means the ring cannot take them: every op the enter would have submitted
    /// completes with `-errno` (its JS waiter rejects with that errno's code) and the ring is
    /// given up, so later calls fail at once with `ERR_BOROS_SUBMIT`.
    fn submit_failed(&mut self, e: std::io::Error) {
        let errno = e.raw_os_error().unwrap_or(libc::EIO);
        if matches!(
            errno,
            libc::EAGAIN | libc::EBUSY | libc::ENOMEM | libc::EINTR
        ) {
            self.signal();
            return;
        }
        if self.driver.dead().is_some() {
            return;
        }
        eprintln!(
            "boros: io_uring_enter failed ({e}): failing the operations it would have submitted"
        );
        self.finish_with(|driver, sink| driver.fail_unsubmitted(errno, sink));
        // The results go to JS from the poll callback.
        self.signal();
    }

    /// Runs the work ops left; returns whether it queued ops.
    fn run_later(&mut self) -> bool {
        let mut pushed = false;
        for work in std::mem::take(&mut self.later) {
            match work {
                FollowUp::Push(op) if !self.closing => match self.driver.push(op, 0) {
                    Ok(_) => pushed = true,
                    // Only a broken ring refuses a close: its file table goes with it.
                    Err(e) => eprintln!("boros: queuing a follow-up operation failed: {e}"),
                },
                FollowUp::Push(_) => {}
            }
        }
        pushed
    }

    /// Moves up to `events_cap` stream events into the shared events array.
    fn fill_events(&mut self) -> usize {
        let n = self.events.len().min(self.events_cap);
        // SAFETY: `events_view` points to the pinned Int32Array of `events_cap * FIELDS` slots.
        let out = unsafe {
            std::slice::from_raw_parts_mut(self.events_view, n * crate::wire::event::FIELDS)
        };
        for (dst, ev) in out
            .chunks_exact_mut(crate::wire::event::FIELDS)
            .zip(self.events.drain(..n))
        {
            dst.copy_from_slice(&ev);
        }
        n
    }

    /// Moves up to `results_pairs` finished completions into the shared results array.
    fn fill_results(&mut self) -> usize {
        let n = self.ready.len().min(self.results_pairs);
        // SAFETY: `results` points to the pinned Int32Array of `results_pairs * 2` slots.
        let out = unsafe { std::slice::from_raw_parts_mut(self.results, n * 2) };
        for (i, (token, res)) in self.ready.drain(..n).enumerate() {
            out[2 * i] = token as i32;
            out[2 * i + 1] = res;
        }
        n
    }
}

/// Just before libuv blocks: submit everything queued this turn in one `io_uring_enter`.
unsafe extern "C" fn on_prepare(h: *mut Handle) {
    // SAFETY: data is the runtime cell, alive until both handles are closed.
    let cell = unsafe { &*(uv::handle_data(h) as *const RuntimeCell) };
    let Ok(mut rt) = cell.try_borrow_mut() else {
        return;
    };
    rt.turn = rt.turn.wrapping_add(1);
    if rt.closing {
        return;
    }
    crate::http::new_loop_turn();
    rt.drain_queue();
    rt.flush_http();
    if rt.driver.has_unsubmitted() {
        // A submit that fails finishes ops, which may place bytes in a segment (a V8 Buffer).
        let mut scope = ptr::null_mut();
        // SAFETY: the env's thread, in a libuv callback, outside any scope; closed below.
        unsafe { sys::napi_open_handle_scope(rt.env, &mut scope) };
        rt.submit();
        // SAFETY: closes the scope opened above.
        unsafe { sys::napi_close_handle_scope(rt.env, scope) };
    }
}

/// The ring fd (or the eventfd) fired: reap, settle in JS, submit what JS queued, repeat while
/// there is work.
pub(super) unsafe extern "C" fn on_poll(h: *mut Handle, _status: c_int, _events: c_int) {
    // SAFETY: as in on_prepare.
    let cell = unsafe { &*(uv::handle_data(h) as *const RuntimeCell) };
    let env = cell.borrow().env;
    for round in 0..MAX_ROUNDS {
        if round > 0 && !round_has_work(cell) {
            break;
        }
        // A handle scope per round: what a round hands JS (its segments) is not held by this
        // callback once JS is done with it, so a scavenge during the next rounds can free it
        // (one scope for all rounds kept up to 16 rounds of received bytes alive, and got
        // them promoted to the old generation).
        let mut scope = ptr::null_mut();
        // SAFETY: we are on the env's thread, in a libuv callback, outside any scope.
        unsafe { sys::napi_open_handle_scope(env, &mut scope) };
        // SAFETY: JS thread, inside the scope just opened.
        let again = unsafe { poll_round(cell, env, round) };
        // SAFETY: closes the scope opened above.
        unsafe { sys::napi_close_handle_scope(env, scope) };
        if !again {
            break;
        }
    }
    let mut rt = cell.borrow_mut();
    if !rt.closing {
        rt.update_ref();
    }
}

/// Whether a round after the first has anything to do; if not, clears the eventfd as a round
/// that found nothing would (and looks once more, so that no wake-up is lost between).
///
/// The round after a delivery usually finds nothing: at one busy connection every message is
/// a poll callback of its own, whose JS sent the echo (`send(2)`) and queued nothing. That
/// round used to open and close a handle scope (N-API allocates each one on the heap) and
/// reap an empty CQ, between the send and libuv's next `epoll_pwait` (docs/net.md, "One
/// connection: the delivery round", issue 21 twelfth round). Called with the runtime not
/// borrowed (between rounds).
fn round_has_work(cell: &RuntimeCell) -> bool {
    let mut rt = cell.borrow_mut();
    if rt.closing
        || rt.signalled
        || !rt.ready.is_empty()
        || !rt.events.is_empty()
        || !rt.later.is_empty()
        || rt.driver.has_unsubmitted()
        || rt.driver.has_ready()
        || rt.driver.has_housekeeping()
    {
        return true;
    }
    // What the empty round did (`poll_round`, "Nothing now"): clear, then look again. What
    // it did besides (`flush_http`) already ran after the JS of the round before, and no JS
    // ran since.
    rt.clear_signal();
    rt.driver.has_ready()
}

/// One round of [`on_poll`]; returns whether to go on with another.
///
/// # Safety
/// JS thread, inside a handle scope, the runtime not borrowed.
unsafe fn poll_round(cell: &RuntimeCell, env: sys::napi_env, round: usize) -> bool {
    let mut rt = cell.borrow_mut();
    let reaped = rt.reap();
    // What the HTTP engine's completions left to do (a receive to arm, a close).
    rt.flush_http();
    let pushed = rt.driver.has_unsubmitted();
    if rt.closing {
        rt.ready.clear();
        rt.events.clear();
        // SAFETY: JS thread inside the caller's handle scope.
        unsafe { rt.segments.delivered() };
        if pushed {
            // The engine's closes at teardown (`http::teardown`; on_prepare submits nothing
            // now). Their CQEs may come during the submit: look again, do not clear.
            rt.submit();
            rt.signal();
            return false;
        }
        if rt.driver.in_flight() == 0 && rt.open_handles == rt.handles() {
            rt.close_handles();
        } else {
            rt.clear_signal();
        }
        return false;
    }
    if reaped == 0 && rt.ready.is_empty() && rt.events.is_empty() && !pushed {
        // Nothing now: clear the eventfd, then look again, so a completion that landed
        // between the reap and the clear is not left without a wake-up (the ring fd needs no
        // clearing, and costs no system call here: see `clear_signal`).
        // Bounded: `IORING_SQ_TASKRUN` can stay set with nothing left to run (see the core's
        // `reap`), and an unbounded look would spin on it.
        rt.clear_signal();
        if rt.driver.has_ready() {
            if round + 1 < MAX_ROUNDS {
                return true;
            }
            // Still pending after this callback's rounds (task work that requeues itself:
            // see the core's `reap`): come back on the loop's next turn, after the others.
            rt.signal();
        }
        return false;
    }
    // The segments this round's stream events point into.
    let mut data = ptr::null_mut();
    if !rt.events.is_empty() {
        // SAFETY: JS thread inside the caller's handle scope.
        data = unsafe { rt.segments.table() };
    }
    while !rt.ready.is_empty() || !rt.events.is_empty() {
        let n = rt.fill_results();
        let m = rt.fill_events();
        drop(rt);
        // SAFETY: JS thread, inside the caller's handle scope; the runtime is not borrowed.
        unsafe { deliver(cell, env, n, m, data) };
        crate::http::delivered();
        rt = cell.borrow_mut();
    }
    // SAFETY: JS thread inside the caller's handle scope; every event was delivered.
    unsafe { rt.segments.delivered() };
    if rt.closing || round + 1 >= MAX_ROUNDS {
        return false;
    }
    // Promise reactions may have queued more ops: submit them now, inside this turn.
    rt.drain_queue();
    rt.flush_http();
    if rt.driver.has_unsubmitted() {
        rt.submit();
    }
    true
}
