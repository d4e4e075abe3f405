//! One runtime per JS thread: its ring, and how libuv drives it.
//!
//! libuv's loop, each turn: timers -> pending -> idle -> **prepare** -> poll (blocks) -> check -> close.
//! - JS calls (`read`, `open`, ...) only queue SQEs: no syscall.
//! - The **prepare** callback, which runs just before libuv blocks, submits everything queued
//!   in one `io_uring_enter`.
//! - libuv **polls the ring's eventfd**; when it fires, `on_poll` reaps every CQE, lets each
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
use crate::complete::{Finish, Later, NodeOp};
use crate::js::{self, codes, Result};
use crate::queue::SharedQueue;
use crate::uv::{self, Handle, Uv};
use boros::{Cqe, Driver, OpRef};
use napi::sys;
use std::cell::{Cell, RefCell};
use std::ffi::{c_int, c_void};
use std::ptr;

/// Rounds of reap -> JS -> submit done inside one poll callback before yielding to libuv.
const MAX_ROUNDS: usize = 16;

pub struct Runtime {
    env: sys::napi_env,
    pub driver: Driver<dyn NodeOp>,
    uv: &'static Uv,
    poll: *mut Handle,
    prepare: *mut Handle,
    referenced: bool,
    closing: bool,
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
    /// Work ops left for after the reap (see [`Later`]).
    later: Vec<Later>,
    /// Stream events not yet handed to JS, and the bytes they point into.
    events: Vec<crate::wire::event::Event>,
    event_data: Vec<u8>,
    /// Keys of in-flight ops that do not keep the loop alive (see [`Runtime::set_op_ref`]).
    unreferenced: std::collections::HashSet<u64>,
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

/// Sets up this thread's ring and hooks it into the env's libuv loop.
///
/// # Safety
/// `env` is the current env; `on_complete` a function; `results` and `events` Int32Arrays;
/// `entries`, `ctl` and `arena` as [`SharedQueue::new`] takes them. Returns the arena's
/// alignment offset.
#[allow(clippy::too_many_arguments)]
pub unsafe fn init(
    env: sys::napi_env,
    on_complete: sys::napi_value,
    results: sys::napi_value,
    events: sys::napi_value,
    entries: sys::napi_value,
    ctl: sys::napi_value,
    arena: sys::napi_value,
) -> Result<u32> {
    if is_initialized() {
        return Err(js::error(
            codes::INVALID_ARG_VALUE,
            "boros: the runtime is already initialized on this thread",
        ));
    }
    let uv = uv::get().map_err(|m| js::error(codes::UNSUPPORTED_RUNTIME, m))?;
    let driver =
        Driver::<dyn NodeOp>::build_with_task_run(&boros::Config::default(), task_run_mode())
            .map_err(|e| js::error(codes::UNAVAILABLE, e.to_string()))?;

    // SAFETY: valid env and values per the contract; out-pointers are locals.
    let (results_ptr, results_len) = unsafe { js::view_info(env, results)? };
    // SAFETY: as above.
    let (events_ptr, events_len) = unsafe { js::view_info(env, events)? };
    if results_ptr as usize % 4 != 0 || events_ptr as usize % 4 != 0 {
        return Err(js::error(
            codes::INVALID_ARG_VALUE,
            "boros: results and events arrays misaligned",
        ));
    }
    // SAFETY: as above.
    let (queue, arena_offset) = unsafe { SharedQueue::new(env, entries, ctl, arena)? };
    let mut results_ref = ptr::null_mut();
    let mut events_ref = ptr::null_mut();
    let mut on_complete_ref = ptr::null_mut();
    let mut loop_ = ptr::null_mut();
    let mut name = ptr::null_mut();
    let mut async_ctx = ptr::null_mut();
    // SAFETY: as above.
    unsafe {
        sys::napi_create_reference(env, results, 1, &mut results_ref);
        sys::napi_create_reference(env, events, 1, &mut events_ref);
        sys::napi_create_reference(env, on_complete, 1, &mut on_complete_ref);
        sys::napi_get_uv_event_loop(env, &mut loop_);
        sys::napi_create_string_utf8(env, c"boros".as_ptr(), 5, &mut name);
        sys::napi_async_init(env, ptr::null_mut(), name, &mut async_ctx);
    }

    let cell: Box<RuntimeCell> = Box::new(RefCell::new(Runtime {
        env,
        driver,
        uv,
        poll: ptr::null_mut(),
        prepare: ptr::null_mut(),
        referenced: false,
        closing: false,
        open_handles: 0,
        cleanup_hook: ptr::null_mut(),
        on_complete: on_complete_ref,
        results_ref,
        results: results_ptr.cast(),
        results_pairs: results_len / 8,
        events_ref,
        events_view: events_ptr.cast(),
        events_cap: events_len / 4 / crate::wire::event::FIELDS,
        async_ctx,
        bounce: BounceBuffers::default(),
        queue,
        ready: Vec::new(),
        later: Vec::new(),
        events: Vec::new(),
        event_data: Vec::new(),
        unreferenced: std::collections::HashSet::new(),
    }));
    let raw = Box::into_raw(cell);
    // SAFETY: `raw` stays valid until `on_closed` frees it after both handles closed.
    let rt = unsafe { &mut *(*raw).as_ptr() };
    rt.poll = uv::alloc_handle(uv, uv::UV_POLL, raw.cast());
    rt.prepare = uv::alloc_handle(uv, uv::UV_PREPARE, raw.cast());
    // SAFETY: handles are freshly allocated with libuv's sizes; the loop is this env's.
    unsafe {
        (uv.poll_init)(loop_.cast(), rt.poll, rt.driver.eventfd());
        (uv.poll_start)(rt.poll, uv::UV_READABLE, on_poll);
        (uv.unref)(rt.poll);
        (uv.prepare_init)(loop_.cast(), rt.prepare);
        (uv.prepare_start)(rt.prepare, on_prepare);
        (uv.unref)(rt.prepare);
        rt.open_handles = 2;
        sys::napi_add_async_cleanup_hook(env, Some(on_cleanup), raw.cast(), &mut rt.cleanup_hook);
    }
    CURRENT.with(|c| c.set(raw));
    Ok(arena_offset as u32)
}

/// How this env's ring runs completion work: `COOP_TASKRUN` unless `BOROS_TASKRUN=defer`.
///
/// libuv sleeps in epoll on the ring's eventfd. With `DEFER_TASKRUN`, a socket or pipe
/// wake-up that arrives while the thread sleeps there signals that eventfd ~14 ms late on some
/// kernels (6.18 here; `bench/net/wake/wake.c` shows it without boros, `boros doctor` checks
/// it): a single-connection round trip took 16 ms instead of 0.03 ms. With `COOP_TASKRUN` the
/// socket wake-up runs the completion work as the thread leaves epoll, the CQE signals the
/// eventfd at once, and nothing else changes for us: `TASKRUN_FLAG` still tells `reap` when
/// to enter. (Measured in bench/README.md, "Wake-ups".)
fn task_run_mode() -> boros::TaskRun {
    match std::env::var("BOROS_TASKRUN").as_deref() {
        Ok("defer") => boros::TaskRun::Defer,
        _ => boros::TaskRun::Coop,
    }
}

impl Runtime {
    /// Pushes the ops the façade queued in shared memory onto the ring.
    fn drain_queue(&mut self) {
        let Runtime {
            driver,
            queue,
            ready,
            ..
        } = self;
        let before = ready.len();
        queue.drain(driver, |token, errno| ready.push((token, errno)));
        if ready.len() > before {
            // Refused entries complete at once: wake the poll callback to deliver them.
            driver.signal_eventfd();
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
        let want = self.driver.in_flight() > self.unreferenced.len()
            || !self.ready.is_empty()
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
        self.driver.signal_eventfd();
    }

    /// Whether the op of `key` keeps the loop alive while in flight (every op does, until
    /// this says otherwise). Returns false for a key whose op already completed.
    pub fn set_op_ref(&mut self, key: u64, referenced: bool) -> bool {
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
        let key = self.driver.push_with(op, 0, flags).map_err(js::push_error)?;
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
            event_data,
            unreferenced,
            ..
        } = self;
        let mut cx = Finish {
            settled: ready,
            bounce,
            later,
            events,
            event_data,
        };
        let mut sink = |cqe: Cqe, op: OpRef<'_, dyn NodeOp>| match op {
            OpRef::Live(op) => op.update(&cqe, &mut cx),
            OpRef::Done(op) => {
                if !unreferenced.is_empty() {
                    unreferenced.remove(&cqe.key.as_u64());
                }
                op.complete(&cqe, &mut cx)
            }
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
            self.driver.signal_eventfd();
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
        self.driver.signal_eventfd();
    }

    /// Runs the work ops left; returns whether it queued ops.
    fn run_later(&mut self) -> bool {
        let mut pushed = false;
        for work in std::mem::take(&mut self.later) {
            match work {
                Later::Push(op) if !self.closing => match self.driver.push(op, 0) {
                    Ok(_) => pushed = true,
                    // Only a broken ring refuses a close: its file table goes with it.
                    Err(e) => eprintln!("boros: queuing a follow-up operation failed: {e}"),
                },
                Later::Push(_) => {}
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

    fn close_handles(&mut self) {
        // SAFETY: both handles are open and closed once; on_closed frees them.
        unsafe {
            (self.uv.close)(self.poll, on_closed);
            (self.uv.close)(self.prepare, on_closed);
        }
    }
}

/// Just before libuv blocks: submit everything queued this turn in one `io_uring_enter`.
unsafe extern "C" fn on_prepare(h: *mut Handle) {
    // SAFETY: data is the runtime cell, alive until both handles are closed.
    let cell = unsafe { &*(uv::handle_data(h) as *const RuntimeCell) };
    let Ok(mut rt) = cell.try_borrow_mut() else {
        return;
    };
    if rt.closing {
        return;
    }
    rt.drain_queue();
    rt.flush_http();
    if rt.driver.has_unsubmitted() {
        rt.submit();
    }
}

/// The eventfd fired: reap, settle in JS, submit what JS queued, repeat while there is work.
unsafe extern "C" fn on_poll(h: *mut Handle, _status: c_int, _events: c_int) {
    // SAFETY: as in on_prepare.
    let cell = unsafe { &*(uv::handle_data(h) as *const RuntimeCell) };
    let env = cell.borrow().env;
    let mut scope = ptr::null_mut();
    // SAFETY: we are on the env's thread, in a libuv callback, outside any scope.
    unsafe { sys::napi_open_handle_scope(env, &mut scope) };
    for round in 0.. {
        let mut rt = cell.borrow_mut();
        let reaped = rt.reap();
        // What the HTTP engine's completions left to do (a receive to arm, a close).
        rt.flush_http();
        let pushed = rt.driver.has_unsubmitted();
        if rt.closing {
            rt.ready.clear();
            rt.events.clear();
            rt.event_data.clear();
            if rt.driver.in_flight() == 0 && rt.open_handles == 2 {
                rt.close_handles();
            } else {
                rt.driver.clear_eventfd();
            }
            break;
        }
        if reaped == 0 && rt.ready.is_empty() && rt.events.is_empty() && !pushed {
            // Nothing now: clear the eventfd, then look again, so a completion that landed
            // between the reap and the clear is not left without a wake-up.
            // Bounded: `IORING_SQ_TASKRUN` can stay set with nothing left to run (see the core's
            // `reap`), and an unbounded look would spin on it.
            rt.driver.clear_eventfd();
            if rt.driver.has_ready() {
                if round + 1 < MAX_ROUNDS {
                    continue;
                }
                // Still pending after this callback's rounds (task work that requeues itself:
                // see the core's `reap`): come back on the loop's next turn, after the others.
                rt.driver.signal_eventfd();
            }
            break;
        }
        // The bytes of this round's stream events, one Buffer for all of them.
        let mut data = ptr::null_mut();
        if !rt.events.is_empty() {
            let bytes = std::mem::take(&mut rt.event_data);
            // SAFETY: JS thread inside our handle scope.
            data = unsafe { event_buffer(env, bytes) };
        }
        while !rt.ready.is_empty() || !rt.events.is_empty() {
            let n = rt.fill_results();
            let m = rt.fill_events();
            drop(rt);
            // SAFETY: JS thread, inside our handle scope; the runtime is not borrowed.
            unsafe { deliver(cell, env, n, m, data) };
            rt = cell.borrow_mut();
        }
        if rt.closing || round + 1 >= MAX_ROUNDS {
            break;
        }
        // Promise reactions may have queued more ops: submit them now, inside this turn.
        rt.drain_queue();
        rt.flush_http();
        if rt.driver.has_unsubmitted() {
            rt.submit();
        }
    }
    let mut rt = cell.borrow_mut();
    if !rt.closing {
        rt.update_ref();
    }
    drop(rt);
    // SAFETY: closes the scope opened above.
    unsafe { sys::napi_close_handle_scope(env, scope) };
}

/// The Buffer of a round's received bytes: the `Vec` itself, handed to V8 without a copy
/// (freed by `free_event_data` when the Buffer is collected), or a copy where external
/// buffers are refused. Saves one copy of every received byte and the peak it cost.
///
/// # Safety
/// JS thread, inside a handle scope.
unsafe fn event_buffer(env: sys::napi_env, bytes: Vec<u8>) -> sys::napi_value {
    let mut data = ptr::null_mut();
    if !bytes.is_empty() {
        let len = bytes.len();
        let boxed = Box::new(bytes);
        let at = boxed.as_ptr() as *mut c_void;
        let hint = Box::into_raw(boxed);
        // SAFETY: `at..at+len` stays valid and unmoved until the finalizer frees the box (the
        // Vec's heap buffer does not move when the Vec itself is boxed).
        let status = unsafe {
            sys::napi_create_external_buffer(
                env,
                len,
                at,
                Some(free_event_data),
                hint.cast(),
                &mut data,
            )
        };
        if status == sys::Status::napi_ok {
            return data;
        }
        // SAFETY: the call failed, so no finalizer owns `hint`: take it back.
        let bytes = unsafe { Box::from_raw(hint) };
        // SAFETY: as above; copies the bytes into a new Buffer.
        unsafe {
            sys::napi_create_buffer_copy(
                env,
                bytes.len(),
                bytes.as_ptr().cast(),
                ptr::null_mut(),
                &mut data,
            )
        };
        return data;
    }
    // SAFETY: as above; an empty Buffer.
    unsafe { sys::napi_create_buffer_copy(env, 0, ptr::null(), ptr::null_mut(), &mut data) };
    data
}

unsafe extern "C" fn free_event_data(_env: sys::napi_env, _data: *mut c_void, hint: *mut c_void) {
    // SAFETY: `hint` is the box `event_buffer` leaked for this Buffer; V8 calls this once.
    drop(unsafe { Box::from_raw(hint as *mut Vec<u8>) });
}

/// Calls the JS completion handler with `n` (token, result) pairs in the results array,
/// inside a callback scope (`napi_make_callback`): microtasks and nextTicks run afterwards.
unsafe fn deliver(
    cell: &RuntimeCell,
    env: sys::napi_env,
    n: usize,
    m: usize,
    data: sys::napi_value,
) {
    let (on_complete, ctx) = {
        let rt = cell.borrow();
        (rt.on_complete, rt.async_ctx)
    };
    // SAFETY: JS thread inside a handle scope; references are alive while the runtime is.
    unsafe {
        let mut func = ptr::null_mut();
        let mut recv = ptr::null_mut();
        let mut args = [ptr::null_mut(); 3];
        let mut result = ptr::null_mut();
        sys::napi_get_reference_value(env, on_complete, &mut func);
        sys::napi_get_global(env, &mut recv);
        sys::napi_create_uint32(env, n as u32, &mut args[0]);
        sys::napi_create_uint32(env, m as u32, &mut args[1]);
        if data.is_null() {
            sys::napi_get_undefined(env, &mut args[2]);
        } else {
            args[2] = data;
        }
        let status = sys::napi_make_callback(env, ctx, recv, func, 3, args.as_ptr(), &mut result);
        if status == sys::Status::napi_pending_exception {
            let mut err = ptr::null_mut();
            sys::napi_get_and_clear_last_exception(env, &mut err);
            sys::napi_fatal_exception(env, err);
        }
    }
}

/// Env teardown (worker exit, end of the main env): stop calling JS, cancel what is in
/// flight, and keep the loop alive until the kernel has posted every last CQE; only then
/// close the handles and free the ring and the memory its ops own.
unsafe extern "C" fn on_cleanup(handle: sys::napi_async_cleanup_hook_handle, arg: *mut c_void) {
    // SAFETY: arg is the runtime cell registered in init.
    let cell = unsafe { &*(arg as *const RuntimeCell) };
    CURRENT.with(|c| c.set(ptr::null()));
    let mut rt = cell.borrow_mut();
    rt.closing = true;
    rt.cleanup_hook = handle;
    if rt.driver.in_flight() == 0 {
        rt.close_handles();
        return;
    }
    if let Err(e) = rt
        .driver
        .cancel_all()
        .map_err(std::io::Error::from)
        .and_then(|_| rt.driver.submit())
    {
        eprintln!("boros: cancelling in-flight operations at exit failed: {e}");
    }
    // Keep the loop running for us until the last CQE arrives (on_poll closes the handles).
    if !rt.referenced {
        // SAFETY: the poll handle is open.
        unsafe { (rt.uv.r#ref)(rt.poll) };
        rt.referenced = true;
    }
}

unsafe extern "C" fn on_closed(h: *mut Handle) {
    // SAFETY: data is the runtime cell; it is freed below only after the second handle closed.
    let raw = unsafe { uv::handle_data(h) } as *mut RuntimeCell;
    // SAFETY: the handle was allocated with calloc in alloc_handle and libuv is done with it.
    unsafe { libc::free(h) };
    let done = {
        // SAFETY: raw is still alive (freed below).
        let mut rt = unsafe { &*raw }.borrow_mut();
        rt.open_handles -= 1;
        rt.open_handles == 0
    };
    if done {
        // SAFETY: both handles are closed, nobody else holds the pointer (CURRENT was cleared).
        let cell = unsafe { Box::from_raw(raw) };
        let rt = cell.into_inner();
        let mut rt = rt;
        // Every CQE is in: nothing uses the arena any more.
        rt.queue.release();
        let (env, hook) = (rt.env, rt.cleanup_hook);
        // SAFETY: references and the async context belong to this env, released once.
        unsafe {
            sys::napi_delete_reference(env, rt.on_complete);
            sys::napi_delete_reference(env, rt.results_ref);
            sys::napi_delete_reference(env, rt.events_ref);
            sys::napi_async_destroy(env, rt.async_ctx);
        }
        drop(rt); // Driver::drop: nothing is in flight any more; closes the ring and eventfd.
                  // The descriptors of boros objects JS never closed (FileHandles, sockets): gone with
                  // the env, as Node closes a worker's (issue 24).
        crate::fds::close_all();
        if !hook.is_null() {
            // SAFETY: the hook handle came from napi_add_async_cleanup_hook; removing it tells
            // Node our async cleanup is finished.
            unsafe { sys::napi_remove_async_cleanup_hook(hook) };
        }
    }
}
