//! A runtime's life: [`init`] sets up the ring and hooks it into the env's libuv loop;
//! teardown (`on_cleanup`, then `on_closed` for each handle) cancels what is in flight, waits
//! for every last CQE and frees the ring.

use super::{is_initialized, on_poll, on_prepare, Runtime, RuntimeCell, CURRENT};
use crate::bounce::BounceBuffers;
use crate::complete::NodeOp;
use crate::js::{self, codes, Result};
use crate::queue::SharedQueue;
use crate::uv::{self, Handle};
use boros::Driver;
use napi::sys;
use std::cell::RefCell;
use std::ffi::c_void;
use std::ptr;

/// A JS thread's ring: 1,024 submission entries (64 KiB of SQEs; boros's default 4,096 are
/// 256 KiB, and every page of them becomes resident as the queue wraps) and 8,192 completion
/// entries (the CQEs of 8,192 connections' receives fit in one pass before the kernel's
/// overflow list). A turn that queues more than 1,024 entries submits in the middle
/// (`Driver::push_entries`): one `io_uring_enter` more per 1,024 (issue 21, memory).
const RING: boros::Config = boros::Config {
    sq_entries: 1024,
    cq_entries: 8192,
    attach_wq: None,
};

/// Sets up this thread's ring and hooks it into the env's libuv loop.
///
/// # Safety
/// `env` is the current env; `on_complete` a function; `results` and `events` Int32Arrays;
/// `entries` and `ctl` as [`SharedQueue::new`] takes them.
#[allow(clippy::too_many_arguments)]
pub unsafe fn init(
    env: sys::napi_env,
    on_complete: sys::napi_value,
    results: sys::napi_value,
    events: sys::napi_value,
    entries: sys::napi_value,
    ctl: sys::napi_value,
) -> Result<()> {
    if is_initialized() {
        return Err(js::error(
            codes::INVALID_ARG_VALUE,
            "boros: the runtime is already initialized on this thread",
        ));
    }
    let uv = uv::get().map_err(|m| js::error(codes::UNSUPPORTED_RUNTIME, m))?;
    let task_run = task_run_mode();
    let mut driver = Driver::<dyn NodeOp>::build_with_task_run(&RING, task_run)
        .map_err(|e| js::error(codes::UNAVAILABLE, e.to_string()))?;
    // See `task_run_mode`: under COOP libuv polls the ring fd, and the kernel need not signal
    // an eventfd nobody waits on for CQEs.
    let watch_ring = task_run == boros::TaskRun::Coop;
    if watch_ring {
        driver
            .unregister_eventfd()
            .map_err(|e| js::error(codes::UNAVAILABLE, e.to_string()))?;
    }

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
    let queue = unsafe { SharedQueue::new(env, entries, ctl)? };
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
        uv_loop: loop_.cast(),
        poll: ptr::null_mut(),
        prepare: ptr::null_mut(),
        wake: ptr::null_mut(),
        signalled: false,
        referenced: false,
        closing: false,
        turn: 0,
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
        // SAFETY: the JS thread, inside the caller's (init's) handle scope.
        segments: unsafe { crate::segments::Segments::new(env) },
        readiness: Default::default(),
        unreferenced: std::collections::HashSet::new(),
        chunk_streams: Vec::new(),
        pools: Default::default(),
    }));
    let raw = Box::into_raw(cell);
    // SAFETY: `raw` stays valid until `on_closed` frees it after both handles closed.
    let rt = unsafe { &mut *(*raw).as_ptr() };
    rt.poll = uv::alloc_handle(uv, uv::UV_POLL, raw.cast());
    rt.prepare = uv::alloc_handle(uv, uv::UV_PREPARE, raw.cast());
    let sleep_on = if watch_ring {
        rt.wake = uv::alloc_handle(uv, uv::UV_POLL, raw.cast());
        rt.driver.ring_fd()
    } else {
        rt.driver.eventfd()
    };
    // SAFETY: handles are freshly allocated with libuv's sizes; the loop is this env's.
    unsafe {
        (uv.poll_init)(loop_.cast(), rt.poll, sleep_on);
        (uv.poll_start)(rt.poll, uv::UV_READABLE, on_poll);
        (uv.unref)(rt.poll);
        if watch_ring {
            (uv.poll_init)(loop_.cast(), rt.wake, rt.driver.eventfd());
            (uv.poll_start)(rt.wake, uv::UV_READABLE, on_poll);
            (uv.unref)(rt.wake);
        }
        (uv.prepare_init)(loop_.cast(), rt.prepare);
        (uv.prepare_start)(rt.prepare, on_prepare);
        (uv.unref)(rt.prepare);
        rt.open_handles = rt.handles();
        sys::napi_add_async_cleanup_hook(env, Some(on_cleanup), raw.cast(), &mut rt.cleanup_hook);
    }
    CURRENT.with(|c| c.set(raw));
    Ok(())
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
///
/// Under `COOP_TASKRUN` libuv sleeps on the **ring fd** itself, not on the eventfd: the ring
/// is readable exactly while CQEs (or an overflowed CQ) wait, and every CQE the kernel posts
/// wakes its poll waitqueue (`__io_commit_cqring_flush` -> `io_poll_wq_wake`, `poll_activated`
/// being set at setup for every ring without `DEFER_TASKRUN`), from task work, io-wq and
/// timers alike (`bench/net/wake/ringfd.c` checks each). So there is nothing to reset after a
/// wake-up: one `read(2)` less per wake-up, and no eventfd signal in the kernel per CQE. With
/// `DEFER_TASKRUN` the ring fd is never woken by a socket completion (its task work only
/// signals the eventfd), so that setup keeps polling the eventfd.
fn task_run_mode() -> boros::TaskRun {
    match std::env::var("BOROS_TASKRUN").as_deref() {
        Ok("defer") => boros::TaskRun::Defer,
        _ => boros::TaskRun::Coop,
    }
}

impl Runtime {
    /// How many uv handles this runtime opened: poll and prepare, and the eventfd's poll
    /// while the ring fd is polled.
    pub(super) fn handles(&self) -> u8 {
        if self.wake.is_null() {
            2
        } else {
            3
        }
    }

    /// Closes the uv handles (teardown's last step; `on_closed` frees them).
    pub(super) fn close_handles(&mut self) {
        // SAFETY: every handle is open and closed once; on_closed frees them.
        unsafe {
            (self.uv.close)(self.poll, on_closed);
            (self.uv.close)(self.prepare, on_closed);
            if !self.wake.is_null() {
                (self.uv.close)(self.wake, on_closed);
            }
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
    // The readiness slot's handle first: its callback must not run once the runtime goes.
    rt.readiness_end(0);
    // No new segments from here on: what the last CQEs bring is dropped.
    // SAFETY: the env's thread.
    unsafe { rt.segments.close() };
    if rt.driver.in_flight() == 0 {
        rt.close_handles();
        return;
    }
    // HTTP connections close without sending more; zero-copy notifications are not left
    // waiting for a peer's acknowledgement.
    crate::http::teardown();
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
    // SAFETY: data is the runtime cell; it is freed below only after the last handle closed.
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
        // SAFETY: every handle is closed, nobody else holds the pointer (CURRENT was cleared).
        let cell = unsafe { Box::from_raw(raw) };
        let rt = cell.into_inner();
        let mut rt = rt;
        // Every CQE is in: nothing uses the arena any more.
        rt.queue.release();
        // HTTP connections may still reference JS bodies: released while the env lives.
        crate::http::drop_all();
        let (env, hook) = (rt.env, rt.cleanup_hook);
        // SAFETY: references and the async context belong to this env, released once.
        unsafe {
            sys::napi_delete_reference(env, rt.on_complete);
            sys::napi_delete_reference(env, rt.results_ref);
            sys::napi_delete_reference(env, rt.events_ref);
            rt.segments.release();
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
