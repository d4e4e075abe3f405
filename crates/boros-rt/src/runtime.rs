//! The runtime: one ring, one run queue, one thread, and the loop that drives them.
//!
//! Each turn of [`Runtime::block_on`]'s loop has three phases:
//! 1. **run**: poll the future given to `block_on` if it was woken, then every task that was
//!    ready when the phase began. Tasks queue SQEs (no system call happens here).
//! 2. **submit and wait**: if nothing is ready any more, submit every queued SQE and wait for
//!    one completion, in a single `io_uring_enter`. If something is still ready (a task
//!    yielded), the queued SQEs are submitted without waiting.
//! 3. **reap**: every completion is stored in its op's slot and the op's task is woken.

use crate::task::{Abort, JoinHandle, JoinSet, JoinState, Task, TaskFuture};
use boros::op::{self, OpCode};
use boros::slab::Slab;
use boros::{Config, Driver, OpKey, SetupError};
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::pin::pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::{fmt, io};

/// The task id of the future given to `block_on` (it is not in the task slab).
pub(crate) const MAIN_TASK: u64 = u64::MAX;
/// The token of the read on the wake-up eventfd.
const WAKE_TOKEN: u64 = u64::MAX;

thread_local! {
    /// The runtime whose `block_on` is running on this thread.
    static CURRENT: RefCell<Option<Rc<Core>>> = const { RefCell::new(None) };
}

/// Runs `f` with the runtime running on this thread.
///
/// # Panics
/// When no [`Runtime::block_on`] is running on this thread.
pub(crate) fn with_current<R>(what: &str, f: impl FnOnce(&Rc<Core>) -> R) -> R {
    CURRENT.with(|c| match &*c.borrow() {
        Some(core) => f(core),
        None => panic!(
            "boros_rt::{what} called outside of a boros-rt runtime: \
             call it from inside Runtime::block_on (or boros_rt::block_on) on this thread"
        ),
    })
}

/// Runs `f` with the runtime running on this thread, if there is one.
pub(crate) fn try_with_current<R>(f: impl FnOnce(&Rc<Core>) -> R) -> Option<R> {
    CURRENT
        .try_with(|c| c.borrow().as_ref().map(f))
        .ok()
        .flatten()
}

/// Panics unless `core` is the runtime running on this thread: an op lives on one ring, and
/// only that ring's loop completes it, so a future polled under another runtime (or none)
/// would wait forever.
pub(crate) fn check_current<C: ?Sized>(core: &Rc<C>, what: &str) {
    check_current_at(Rc::as_ptr(core).cast(), what);
}

/// As [`check_current`], for a runtime known by the address of its core (a task's state
/// holds its runtime as `dyn Abort`: task.rs does not name the runtime's type).
fn check_current_at(core: *const (), what: &str) {
    match try_with_current(|c| std::ptr::addr_eq(Rc::as_ptr(c), core)) {
        Some(true) => {}
        Some(false) => panic!(
            "boros-rt: {what} created on one runtime was polled on another: it can only \
             complete on the runtime (the thread and ring) that started it. Await it inside \
             the same Runtime::block_on, or spawn it there"
        ),
        None => panic!(
            "boros-rt: {what} was polled outside of Runtime::block_on: it can only complete \
             while the runtime that started it is running"
        ),
    }
}

/// The part of a runtime other threads see: wake-ups queued for it, and the eventfd that
/// interrupts its wait.
pub(crate) struct Shared {
    remote: Mutex<Vec<u64>>,
    /// Set while the loop is (about to be) blocked in `io_uring_enter`.
    sleeping: AtomicBool,
    /// A blocking eventfd; the loop keeps a read on it in flight while it waits.
    wake_fd: OwnedFd,
    remote_wakes: AtomicU64,
}

impl Shared {
    fn wake_remote(&self, id: u64) {
        self.remote
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(id);
        self.remote_wakes.fetch_add(1, Ordering::Relaxed);
        // Pairs with the loop's `sleeping.store(true)` followed by its look at `remote`:
        // either the loop sees our id, or we see it sleeping and interrupt the wait.
        if self.sleeping.load(Ordering::SeqCst) {
            let v: u64 = 1;
            // SAFETY: writes 8 bytes from a local u64 to an eventfd this struct owns; a
            // failure (counter overflow) leaves the fd readable, which is all we need.
            unsafe { libc::write(self.wake_fd.as_raw_fd(), (&v as *const u64).cast(), 8) };
        }
    }
}

/// What a task's [`Waker`] holds: the task's id and its runtime's shared part. `Send + Sync`:
/// a wake from the runtime's own thread goes straight to the run queue, a wake from any
/// other thread goes through [`Shared`] and the eventfd.
pub(crate) struct TaskWaker {
    pub(crate) id: u64,
    pub(crate) shared: Arc<Shared>,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref()
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let local = CURRENT
            .try_with(|c| match &*c.borrow() {
                Some(core) if Arc::ptr_eq(&core.shared, &self.shared) => {
                    core.schedule(self.id);
                    true
                }
                _ => false,
            })
            .unwrap_or(false);
        if !local {
            self.shared.wake_remote(self.id);
        }
    }
}

/// Who waits for an op's completion.
pub(crate) enum Waiter {
    /// Not polled yet.
    Nobody,
    /// The task (or `MAIN_TASK`) of this runtime that polled the op with its own waker: the
    /// completion schedules it directly (no waker clone, no atomic reference count, no
    /// thread-local look-up).
    Task(u64),
    /// Any other waker (a combinator's, a foreign executor's).
    Other(Waker),
}

/// The state of one op the runtime pushed, keyed by the op's token.
pub(crate) enum Slot {
    /// In flight; who awaits it.
    Waiting(Waiter),
    /// The final CQE arrived; the op is back, with its buffers.
    Done {
        result: i32,
        flags: u32,
        op: Box<dyn OpCode>,
    },
    /// Its future was dropped while in flight: the driver keeps the op until the final CQE,
    /// then the runtime runs the action and drops the op. For a multishot op the action
    /// also runs on every non-final CQE (closing the descriptors of a dropped accept stream).
    Abandoned(Abandon),
    /// A multishot op: its CQEs, `(result, flags)`, queue up for the stream awaiting them;
    /// `ended` once the final CQE is in.
    Stream {
        items: VecDeque<(i32, u32)>,
        waker: Waiter,
        ended: bool,
    },
}

/// What to do with the result of an op nobody awaits any more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Abandon {
    /// Nothing: drop the op (and its buffers).
    Nothing,
    /// The result is a new descriptor: close it.
    CloseFd,
    /// A direct open into this file slot: close the slot if the open succeeded (the driver
    /// frees the slot, at the failed open's CQE or at the close's).
    CloseFixed(u32),
}

/// Counters of one runtime.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RuntimeStats {
    /// Turns of the loop.
    pub ticks: u64,
    /// Task polls (the `block_on` future included).
    pub polls: u64,
    /// Times the loop blocked in `io_uring_enter` waiting for a completion.
    pub waits: u64,
    /// Completions delivered to ops.
    pub completions: u64,
    /// Ops whose future was dropped while they were in flight, and whose final CQE has
    /// since come back (the op and its buffers were freed then, not before).
    pub orphans: u64,
    /// Descriptors the runtime closed because the future that opened them was dropped.
    pub orphan_fds_closed: u64,
    /// Wake-ups that came from other threads.
    pub remote_wakes: u64,
    /// Tasks alive (spawned, not finished).
    pub tasks: u64,
    /// The driver's own counters (`enter_calls` counts every `io_uring_enter`).
    pub driver: boros::Stats,
}

/// The runtime's state, shared by the loop, its tasks and its op futures.
pub(crate) struct Core {
    pub(crate) driver: RefCell<Driver>,
    pub(crate) ops: RefCell<Slab<Slot>>,
    tasks: RefCell<Slab<Rc<Task>>>,
    queue: RefCell<VecDeque<u64>>,
    main_woken: Cell<bool>,
    pub(crate) shared: Arc<Shared>,
    wake_armed: Cell<bool>,
    /// Ops the driver handed back that nobody awaits: dropped after the reap, outside any borrow.
    graveyard: RefCell<Vec<Box<dyn OpCode>>>,
    /// Actions of abandoned ops, run after the reap: `(action, result)`.
    after_reap: RefCell<Vec<(Abandon, i32)>>,
    stats: Cell<RuntimeStats>,
    /// The task being polled and its waker's identity (data and vtable pointers), while the
    /// loop polls it: an op polled with exactly that waker records the task id (see [`Waiter`]).
    polling: Cell<Option<(u64, WakerId)>>,
}

/// A waker's identity: its data and vtable pointers (what `Waker::will_wake` compares).
pub(crate) type WakerId = (*const (), *const std::task::RawWakerVTable);

fn waker_id(w: &Waker) -> WakerId {
    (w.data(), w.vtable() as *const _)
}

/// Clears `Core::polling` when the poll ends, a panic included.
struct Polling<'a>(&'a Core);

impl<'a> Polling<'a> {
    fn start(core: &'a Core, id: u64, waker: &Waker) -> Self {
        core.polling.set(Some((id, waker_id(waker))));
        Polling(core)
    }
}

impl Drop for Polling<'_> {
    fn drop(&mut self) {
        self.0.polling.set(None);
    }
}

impl Core {
    /// Schedules a task of this runtime at once; another waker is woken after the reap.
    fn wake_waiter(&self, w: Waiter, wakers: &mut Vec<Waker>) {
        match w {
            Waiter::Nobody => {}
            Waiter::Task(id) => self.schedule(id),
            Waiter::Other(w) => wakers.push(w),
        }
    }

    /// Records who polls an op: the task itself when `task` is `Some` (see
    /// [`polling_task`](Self::polling_task)), else a clone of the waker (unless it already
    /// holds one that wakes the same).
    pub(crate) fn set_waiter(w: &mut Waiter, task: Option<u64>, waker: &Waker) {
        match (task, &*w) {
            (Some(id), _) => *w = Waiter::Task(id),
            (None, Waiter::Other(old)) if old.will_wake(waker) => {}
            (None, _) => *w = Waiter::Other(waker.clone()),
        }
    }

    /// The id of the task this runtime is polling right now, if `waker` is its own waker:
    /// then the caller is on this runtime, inside that task's poll.
    pub(crate) fn polling_task(&self, waker: &Waker) -> Option<u64> {
        match self.polling.get() {
            Some((id, w)) if w == waker_id(waker) => Some(id),
            _ => None,
        }
    }

    fn new(config: &Config) -> Result<Rc<Self>, SetupError> {
        let driver = Driver::with_config(config)?;
        // SAFETY: eventfd takes no pointers; the result is checked.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(SetupError::Io {
                step: "eventfd",
                source: io::Error::last_os_error(),
            });
        }
        // SAFETY: a fresh descriptor nothing else owns.
        let wake_fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Rc::new(Self {
            driver: RefCell::new(driver),
            ops: RefCell::new(Slab::new()),
            tasks: RefCell::new(Slab::new()),
            queue: RefCell::new(VecDeque::new()),
            main_woken: Cell::new(false),
            shared: Arc::new(Shared {
                remote: Mutex::new(Vec::new()),
                sleeping: AtomicBool::new(false),
                wake_fd,
                remote_wakes: AtomicU64::new(0),
            }),
            wake_armed: Cell::new(false),
            graveyard: RefCell::new(Vec::new()),
            after_reap: RefCell::new(Vec::new()),
            stats: Cell::new(RuntimeStats::default()),
            polling: Cell::new(None),
        }))
    }

    fn bump(&self, f: impl FnOnce(&mut RuntimeStats)) {
        let mut s = self.stats.get();
        f(&mut s);
        self.stats.set(s);
    }

    pub(crate) fn stats(&self) -> RuntimeStats {
        let mut s = self.stats.get();
        s.driver = self.driver.borrow().stats();
        s.tasks = self.tasks.borrow().len() as u64;
        s.remote_wakes = self.shared.remote_wakes.load(Ordering::Relaxed);
        s
    }

    /// Puts a task in the run queue (once, however often it is woken before it runs).
    pub(crate) fn schedule(&self, id: u64) {
        if id == MAIN_TASK {
            self.main_woken.set(true);
            return;
        }
        let tasks = self.tasks.borrow();
        if let Some(t) = tasks.get(id) {
            if !t.scheduled.replace(true) {
                self.queue.borrow_mut().push_back(id);
            }
        }
    }

    pub(crate) fn spawn<F>(self: &Rc<Self>, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let shared = self.shared.clone();
        let mut state = None;
        let id = self.tasks.borrow_mut().insert_with(|key| {
            let id = key.as_u64();
            let core: std::rc::Weak<dyn Abort> = Rc::downgrade(self) as std::rc::Weak<Core>;
            let join = Rc::new(JoinState::new(id, core));
            state = Some(join.clone());
            Rc::new(Task::new(
                Box::pin(TaskFuture::new(future, join)),
                Waker::from(Arc::new(TaskWaker { id, shared })),
            ))
        });
        self.schedule(id.as_u64());
        JoinHandle::new(state.expect("set by insert_with"))
    }

    /// Asks for a task to be dropped the next time the loop reaches it.
    pub(crate) fn abort(&self, id: u64) {
        let found = match self.tasks.borrow().get(id) {
            Some(t) => {
                t.aborted.set(true);
                true
            }
            None => false,
        };
        if found {
            self.schedule(id);
        }
    }

    fn run_task(&self, id: u64) {
        let Some(task) = self.tasks.borrow().get(id).cloned() else {
            return;
        };
        task.scheduled.set(false);
        let finished = if task.aborted.get() {
            true
        } else {
            let mut slot = task.future.borrow_mut();
            match slot.as_mut() {
                // The task future catches panics of the user's future (see `TaskFuture`).
                Some(f) => {
                    self.bump(|s| s.polls += 1);
                    let _polling = Polling::start(self, id, &task.waker);
                    f.as_mut()
                        .poll(&mut Context::from_waker(&task.waker))
                        .is_ready()
                }
                None => true,
            }
        };
        if finished {
            // Drop the future (and the ops it cancels) with no borrow of the slab held.
            let future = task.future.borrow_mut().take();
            drop(future);
            let removed = self.tasks.borrow_mut().remove(id);
            drop(removed);
        }
    }

    fn drain_remote(&self) {
        let ids =
            std::mem::take(&mut *self.shared.remote.lock().unwrap_or_else(|e| e.into_inner()));
        for id in ids {
            self.schedule(id);
        }
    }

    fn idle(&self) -> bool {
        self.queue.borrow().is_empty() && !self.main_woken.get()
    }

    /// Keeps a read on the wake-up eventfd in flight, so a wake from another thread ends a wait.
    fn arm_wake(&self) -> io::Result<()> {
        if self.wake_armed.get() {
            return Ok(());
        }
        let read = op::Read::new(
            self.shared.wake_fd.as_raw_fd(),
            vec![0u8; 8].into_boxed_slice(),
            op::CURRENT_POSITION,
        );
        self.driver.borrow_mut().push(Box::new(read), WAKE_TOKEN)?;
        self.wake_armed.set(true);
        Ok(())
    }

    /// Phases 2 and 3: submit (and wait, when nothing is ready), then reap and wake.
    fn turn_io(&self) -> io::Result<()> {
        self.drain_remote();
        if self.idle() {
            self.arm_wake()?;
            self.shared.sleeping.store(true, Ordering::SeqCst);
            self.drain_remote();
            if self.idle() {
                self.bump(|s| s.waits += 1);
                let r = self.driver.borrow_mut().wait(1, None);
                self.shared.sleeping.store(false, Ordering::SeqCst);
                r?;
            } else {
                self.shared.sleeping.store(false, Ordering::SeqCst);
            }
        }
        self.reap()
    }

    /// Phase 3: every completion goes to its op's slot; the op's task is woken.
    fn reap(&self) -> io::Result<()> {
        let mut wakers: Vec<Waker> = Vec::new();
        let mut delivered = 0u64;
        let mut orphans = 0u64;
        self.driver.borrow_mut().reap(boros::completions(|c| {
            let token = c.token;
            let (result, flags) = (c.result, c.flags);
            let op = c.into_op();
            if token == WAKE_TOKEN {
                if let Some(op) = op {
                    self.wake_armed.set(false);
                    self.graveyard.borrow_mut().push(op);
                }
                return;
            }
            delivered += 1;
            let mut ops = self.ops.borrow_mut();
            let Some(op) = op else {
                // A non-final CQE of a multishot op.
                match ops.get_mut(token) {
                    Some(Slot::Stream { items, waker, .. }) => {
                        items.push_back((result, flags));
                        self.wake_waiter(std::mem::replace(waker, Waiter::Nobody), &mut wakers);
                    }
                    Some(Slot::Abandoned(action)) if *action != Abandon::Nothing => {
                        self.after_reap.borrow_mut().push((*action, result));
                    }
                    _ => {}
                }
                return;
            };
            match ops.get_mut(token) {
                Some(slot @ Slot::Waiting(_)) => {
                    if let Slot::Waiting(w) =
                        std::mem::replace(slot, Slot::Done { result, flags, op })
                    {
                        self.wake_waiter(w, &mut wakers);
                    }
                }
                Some(Slot::Stream {
                    items,
                    waker,
                    ended,
                }) => {
                    items.push_back((result, flags));
                    *ended = true;
                    self.wake_waiter(std::mem::replace(waker, Waiter::Nobody), &mut wakers);
                    self.graveyard.borrow_mut().push(op);
                }
                Some(Slot::Abandoned(action)) => {
                    let action = *action;
                    ops.remove(token);
                    orphans += 1;
                    if action != Abandon::Nothing {
                        self.after_reap.borrow_mut().push((action, result));
                    }
                    self.graveyard.borrow_mut().push(op);
                }
                _ => self.graveyard.borrow_mut().push(op),
            }
        }))?;
        self.bump(|s| {
            s.completions += delivered;
            s.orphans += orphans;
        });
        for w in wakers {
            w.wake();
        }
        let dead = std::mem::take(&mut *self.graveyard.borrow_mut());
        drop(dead);
        let actions = std::mem::take(&mut *self.after_reap.borrow_mut());
        for (action, result) in actions {
            self.run_abandon(action, result);
        }
        Ok(())
    }

    /// Cleans up after an op whose future is gone, once its final CQE is in.
    pub(crate) fn run_abandon(&self, action: Abandon, result: i32) {
        match action {
            Abandon::Nothing => {}
            Abandon::CloseFd => {
                if result >= 0 {
                    // SAFETY: the op opened this descriptor for a future that no longer
                    // exists: nobody else has it.
                    unsafe { libc::close(result) };
                    self.bump(|s| s.orphan_fds_closed += 1);
                }
            }
            // The driver frees the slot: at a failed open's CQE, or at this close's.
            Abandon::CloseFixed(slot) => {
                if result >= 0 {
                    self.push_detached(op::Close::new(op::Target::Fixed(slot)), Abandon::Nothing);
                }
            }
        }
    }

    /// Pushes an op nobody awaits; `action` runs after its final CQE.
    pub(crate) fn push_detached<T: OpCode>(&self, op: T, action: Abandon) {
        let token = self
            .ops
            .borrow_mut()
            .insert(Slot::Abandoned(action))
            .as_u64();
        if self.driver.borrow_mut().push(Box::new(op), token).is_err() {
            self.ops.borrow_mut().remove(token);
        }
    }

    /// Pushes an op awaited by an [`Op`](crate::op::Op) future; returns `(token, key)`.
    pub(crate) fn push<T: OpCode>(&self, op: T) -> io::Result<(u64, OpKey)> {
        self.push_as(op, Slot::Waiting(Waiter::Nobody))
    }

    /// Pushes an op with its slot in the given initial state.
    pub(crate) fn push_as<T: OpCode>(&self, op: T, slot: Slot) -> io::Result<(u64, OpKey)> {
        let token = self.ops.borrow_mut().insert(slot).as_u64();
        match self.driver.borrow_mut().push(Box::new(op), token) {
            Ok(key) => Ok((token, key)),
            Err(e) => {
                self.ops.borrow_mut().remove(token);
                Err(e.into())
            }
        }
    }

    /// Drops every task (their op futures cancel what they had in flight).
    fn shutdown_tasks(&self) {
        loop {
            let tasks = self.tasks.borrow_mut().drain();
            if tasks.is_empty() {
                break;
            }
            for t in &tasks {
                let f = t.future.borrow_mut().take();
                drop(f);
            }
        }
        self.queue.borrow_mut().clear();
    }
}

/// A runtime: one io_uring, its run queue and its tasks, on the thread that made it.
///
/// Tasks are not `Send` (they never leave this thread); wakers are, and a wake from another
/// thread interrupts the loop's wait. One runtime runs per thread at a time: `block_on` panics
/// if another one is already running on the thread.
///
/// ```no_run
/// let rt = boros_rt::Runtime::new()?;
/// let text = rt.block_on(async { boros_rt::fs::read("/etc/hostname").await })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Runtime {
    core: Rc<Core>,
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("stats", &self.core.stats())
            .finish()
    }
}

impl Runtime {
    /// A runtime on a ring with [`Config::default`].
    pub fn new() -> Result<Self, SetupError> {
        Self::with_config(&Config::default())
    }

    /// A runtime on a ring built from `config`.
    pub fn with_config(config: &Config) -> Result<Self, SetupError> {
        Ok(Self {
            core: Core::new(config)?,
        })
    }

    /// Runs `future` to completion on this thread, with every task spawned meanwhile.
    /// Returns when `future` completes; tasks still pending stay in the runtime (a later
    /// `block_on` runs them on) until the runtime is dropped.
    ///
    /// # Panics
    /// If a runtime is already running on this thread, or the ring fails (an
    /// `io_uring_enter` error other than `EINTR`/`EBUSY`, which the driver handles).
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let _guard = Enter::new(&self.core);
        let core = &*self.core;
        let mut future = pin!(future);
        let waker = Waker::from(Arc::new(TaskWaker {
            id: MAIN_TASK,
            shared: core.shared.clone(),
        }));
        let mut cx = Context::from_waker(&waker);
        core.main_woken.set(true);
        loop {
            core.bump(|s| s.ticks += 1);
            // Phase 1: run what is ready.
            core.drain_remote();
            if core.main_woken.replace(false) {
                core.bump(|s| s.polls += 1);
                let polling = Polling::start(core, MAIN_TASK, &waker);
                let poll = future.as_mut().poll(&mut cx);
                drop(polling);
                if let Poll::Ready(v) = poll {
                    return v;
                }
            }
            let ready = core.queue.borrow().len();
            for _ in 0..ready {
                let Some(id) = core.queue.borrow_mut().pop_front() else {
                    break;
                };
                core.run_task(id);
            }
            // Phases 2 and 3.
            if let Err(e) = core.turn_io() {
                panic!("boros-rt: the ring failed: {e}");
            }
        }
    }

    /// Spawns a task on this runtime; it runs during `block_on`.
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.core.spawn(future)
    }

    /// The runtime's counters.
    pub fn stats(&self) -> RuntimeStats {
        self.core.stats()
    }

    /// The ring's descriptor (for [`Config::attach_wq`] of another runtime's ring).
    pub fn ring_fd(&self) -> RawFd {
        self.core.driver.borrow().ring_fd()
    }

    /// What the ring was set up with: kernel, flags, queue sizes, supported opcodes.
    pub fn ring_info(&self) -> boros::RingInfo {
        self.core.driver.borrow().info().clone()
    }
}

impl Drop for Runtime {
    /// Drops every task first (their in-flight ops are cancelled, and stay owned by the
    /// driver), then the ring, which waits for every final CQE before freeing any op memory.
    fn drop(&mut self) {
        self.core.shutdown_tasks();
    }
}

/// Marks the runtime as running on this thread for the duration of `block_on`.
struct Enter;

impl Enter {
    fn new(core: &Rc<Core>) -> Self {
        CURRENT.with(|c| {
            let mut c = c.borrow_mut();
            if c.is_some() {
                panic!(
                    "boros-rt: a runtime is already running on this thread \
                     (block_on cannot be nested; spawn a task or await instead)"
                );
            }
            *c = Some(core.clone());
        });
        Enter
    }
}

impl Drop for Enter {
    fn drop(&mut self) {
        let core = CURRENT.with(|c| c.borrow_mut().take());
        drop(core);
    }
}

/// Runs `future` on a new [`Runtime`] (with [`Config::default`]) and returns its output.
///
/// # Panics
/// If the ring cannot be set up (the message says why: kernel too old, io_uring disabled by
/// sysctl or seccomp...), or a runtime is already running on this thread.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let rt = Runtime::new().unwrap_or_else(|e| panic!("boros-rt: cannot set up io_uring: {e}"));
    rt.block_on(future)
}

impl Abort for Core {
    fn abort(&self, id: u64) {
        Core::abort(self, id);
    }

    fn check_current(&self, what: &str) {
        check_current_at((self as *const Core).cast(), what);
    }
}

impl<T: 'static> JoinSet<T> {
    /// Spawns a task into the set, on the runtime running on this thread.
    ///
    /// # Panics
    /// Outside [`Runtime::block_on`](crate::Runtime::block_on) (the message names
    /// `JoinSet::spawn`).
    pub fn spawn<F>(&mut self, future: F)
    where
        F: Future<Output = T> + 'static,
    {
        self.insert(with_current("JoinSet::spawn", |core| core.spawn(future)));
    }
}

/// Spawns a task on the runtime running on this thread. The task is `!Send`-friendly: it never
/// leaves this thread. Awaiting the [`JoinHandle`] gives its output; dropping the handle
/// detaches the task.
///
/// # Panics
/// When called outside [`Runtime::block_on`].
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    with_current("spawn", |core| core.spawn(future))
}

/// The same as [`spawn`]: every task of this runtime is local to its thread (`!Send`
/// futures are fine). Named for readers coming from tokio's `spawn_local`.
///
/// # Panics
/// When called outside [`Runtime::block_on`].
pub fn spawn_local<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    with_current("spawn_local", |core| core.spawn(future))
}

/// What the ring of the runtime running on this thread was set up with.
///
/// # Panics
/// When called outside [`Runtime::block_on`].
pub fn ring_info() -> boros::RingInfo {
    with_current("ring_info", |core| core.driver.borrow().info().clone())
}

/// The counters of the runtime running on this thread.
///
/// # Panics
/// When called outside [`Runtime::block_on`].
pub fn stats() -> RuntimeStats {
    with_current("stats", |core| core.stats())
}

/// Yields to the loop once: the task goes to the back of the run queue, and queued SQEs are
/// submitted (without waiting) before it runs again.
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// The future of [`yield_now`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();
    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
