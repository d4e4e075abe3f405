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
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Waker};

/// The task id of the future given to `block_on` (it is not in the task slab).
pub(crate) const MAIN_TASK: u64 = u64::MAX;

mod api;
mod handle;
mod slots;
mod wake;

pub use api::{ring_info, spawn, spawn_local, stats, yield_now, YieldNow};
pub use handle::{block_on, Runtime};
use slots::WakeRead;
pub(crate) use slots::{Hosted, Reaper, RtOp, Slot, Waiter};
pub(crate) use wake::{Shared, TaskWaker};

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
    /// Descriptors (and direct slots) closed because the future that opened them was
    /// dropped (the core's leftovers, `boros::Stats::leftovers_closed`).
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
    pub(crate) driver: RefCell<Driver<dyn RtOp>>,
    pub(crate) ops: RefCell<Slab<Slot>>,
    tasks: RefCell<Slab<Rc<Task>>>,
    queue: RefCell<VecDeque<u64>>,
    main_woken: Cell<bool>,
    pub(crate) shared: Arc<Shared>,
    wake_armed: Cell<bool>,
    /// Ops the driver handed back that nobody awaits: dropped after the reap, outside any borrow.
    graveyard: RefCell<Vec<Box<dyn RtOp>>>,
    stats: Cell<RuntimeStats>,
    /// The task being polled and its waker's identity (data and vtable pointers), while the
    /// loop polls it: an op polled with exactly that waker records the task id (see [`Waiter`]).
    polling: Cell<Option<(u64, WakerId)>>,
    /// True while `block_on`'s loop runs (it submits, in its next turn, the cancel an op
    /// future's drop queues) or while the runtime drops its tasks (the driver's drop then
    /// cancels and waits for everything). Otherwise a dropped op is settled at once
    /// ([`abandoned`](Self::abandoned)).
    pub(crate) in_loop: Cell<bool>,
    /// Ops abandoned in the loop since it last entered the kernel for completions: their
    /// cancels (and the deferred completion work that ends them) have not run yet, so they
    /// still hold their descriptors' files. A socket closing now settles them first
    /// ([`Core::before_close`]).
    cancels_pending: Cell<bool>,
    /// True while the runtime drops its tasks: the driver's drop settles everything after.
    dropping_tasks: Cell<bool>,
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
        let mut driver = Driver::build(config)?;
        // The loop blocks in the ring's own wait and never reads the driver's eventfd: the
        // kernel need not signal it at every flush of completions. Should this fail, the
        // eventfd stays registered, which costs only that signal.
        let _ = driver.unregister_eventfd();
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
            stats: Cell::new(RuntimeStats::default()),
            polling: Cell::new(None),
            in_loop: Cell::new(false),
            cancels_pending: Cell::new(false),
            dropping_tasks: Cell::new(false),
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
        s.orphans = s.driver.orphans;
        s.orphan_fds_closed = s.driver.leftovers_closed;
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
        self.driver.borrow_mut().push(Box::new(WakeRead(read)), 0)?;
        self.wake_armed.set(true);
        Ok(())
    }

    /// Phases 2 and 3: submit (and wait, when nothing is ready), then reap and wake.
    fn turn_io(&self) -> io::Result<()> {
        // This turn's enter (the wait's, or the reap's) runs the pending cancels' work.
        self.cancels_pending.set(false);
        self.drain_remote();
        let mut waited = false;
        if self.idle() {
            self.arm_wake()?;
            self.shared.sleeping.store(true, Ordering::SeqCst);
            self.drain_remote();
            if self.idle() {
                self.bump(|s| s.waits += 1);
                let r = self.driver.borrow_mut().wait(1, None);
                self.shared.sleeping.store(false, Ordering::SeqCst);
                r?;
                waited = true;
            } else {
                self.shared.sleeping.store(false, Ordering::SeqCst);
            }
        }
        // After a wait, only what it posted: deferred work the kernel flags meanwhile runs in
        // the next turn's enter, with the SQEs this turn's tasks queue (one enter, not two).
        // Without a wait (tasks still ready), enter here: it submits, and runs that work.
        self.reap(!waited)
    }

    /// Phase 3: every op finishes itself into its slot ([`Hosted`]); its task is woken.
    /// `may_enter`: see [`boros::Driver::reap_posted_into`].
    fn reap(&self, may_enter: bool) -> io::Result<()> {
        let mut wakers: Vec<Waker> = Vec::new();
        let mut graveyard = std::mem::take(&mut *self.graveyard.borrow_mut());
        let delivered = {
            let mut ops = self.ops.borrow_mut();
            let mut reaper = Reaper {
                core: self,
                ops: &mut ops,
                wakers: &mut wakers,
                graveyard: &mut graveyard,
                delivered: 0,
            };
            let mut driver = self.driver.borrow_mut();
            if may_enter {
                driver.reap_into(&mut reaper)?;
            } else {
                driver.reap_posted_into(&mut reaper)?;
            }
            reaper.delivered
        };
        self.bump(|s| s.completions += delivered);
        for w in wakers {
            w.wake();
        }
        drop(graveyard.drain(..));
        // Keep the vector's capacity for the next reap.
        *self.graveyard.borrow_mut() = graveyard;
        Ok(())
    }

    /// After an op future's drop abandoned its op (the driver queued the cancel and keeps the
    /// op to its final CQE). A ring send or receive holds its own reference to the socket's
    /// file, so the stream's close right after does not end it: only the cancel does, and
    /// until then the socket stays open (a peer that never reads never sees the end of the
    /// stream). So:
    /// - outside the loop (the future dropped in `block_on`'s last poll, or after it
    ///   returned): submit and reap now ([`settle`](Self::settle)): no turn may come for a
    ///   long time, and the op would hold the socket (and the peer's connection) open until
    ///   then. Inside the loop its next turn submits the cancel, with everything else;
    /// - `unsubmitted` (the op's own SQE is still queued, in the loop): submit now, op and
    ///   cancel, while the descriptor still names the op's file. The kernel looks it up only
    ///   when it takes the entry; the stream (or file) closes it next, and by the end of the
    ///   turn the number may name another socket or file: a send would go to its peer, a
    ///   receive take its data, a write land in it. Rare (a future dropped in the poll that
    ///   queued its op: a `select` whose other branch was ready), so one enter more is cheap.
    pub(crate) fn abandoned(&self, unsubmitted: bool) {
        if !self.in_loop.get() {
            self.settle();
            return;
        }
        // A plain submit runs the cancel, not the completion work it queues (deferred to the
        // next enter that asks for completions): the op holds its file until then.
        self.cancels_pending.set(true);
        if unsubmitted {
            // An error leaves the entries queued: the loop's next submit reports it.
            let _ = self.driver.borrow_mut().submit();
        }
    }

    /// A socket is about to close its descriptor. If ops were abandoned in the loop since it
    /// last entered the kernel, one may be this socket's (a dropped read, accept or
    /// `recv_from`): until its cancel has run it holds the socket's file, and `close(2)`
    /// would not close the socket: the peer would not see the end of the stream until the
    /// turn ends, and a listener (or UDP socket) would keep its port, so binding it again in
    /// the same turn failed with `EADDRINUSE` (std's and tokio's sockets close at drop).
    /// Settle them now: one enter, and only after an abandon.
    pub(crate) fn before_close(&self) {
        if self.in_loop.get() && self.cancels_pending.get() && !self.dropping_tasks.get() {
            self.settle();
        }
    }

    /// Submits what is queued (the kernel runs the cancels, and the deferred completion work
    /// they make, in that `io_uring_enter`) and reaps what is posted, outside the loop: ops
    /// that ended are freed, their descriptors released. Errors are left to the loop's next
    /// turn (or the driver's drop). Not while the thread unwinds from a panic (a panic in the
    /// reap then would abort the process): the next `block_on`, or the runtime's drop, does it.
    pub(crate) fn settle(&self) {
        if std::thread::panicking() {
            return;
        }
        self.cancels_pending.set(false);
        let _ = self.reap(true);
    }

    /// Pushes an op nobody awaits (a close on drop): the driver drops it at its final CQE.
    pub(crate) fn push_detached<T: OpCode>(&self, op: T) {
        let mut driver = self.driver.borrow_mut();
        if let Ok(key) = driver.push(Box::new(Hosted(op)), u64::MAX) {
            driver.detach(key);
        }
    }

    /// Pushes an op awaited by an [`Op`](crate::op::Op) future; returns `(token, key)`.
    pub(crate) fn push<T: OpCode>(&self, op: T) -> io::Result<(u64, OpKey)> {
        self.push_as(op, Slot::Waiting(Waiter::Nobody))
    }

    /// Pushes an op with its slot in the given initial state.
    pub(crate) fn push_as<T: OpCode>(&self, op: T, slot: Slot) -> io::Result<(u64, OpKey)> {
        let token = self.ops.borrow_mut().insert(slot).as_u64();
        match self.driver.borrow_mut().push(Box::new(Hosted(op)), token) {
            Ok(key) => Ok((token, key)),
            Err(e) => {
                self.ops.borrow_mut().remove(token);
                Err(e.into())
            }
        }
    }

    /// Drops every task (their op futures cancel what they had in flight).
    fn shutdown_tasks(&self) {
        // The driver's drop, next, cancels and waits for every op: no settling op by op.
        self.in_loop.set(true);
        self.dropping_tasks.set(true);
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
