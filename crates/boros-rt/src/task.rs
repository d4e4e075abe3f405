//! Tasks, their join handles, and task groups.

use boros::slab::Slab;
use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};
use std::{fmt, io};

/// A spawned task, as the loop sees it.
pub(crate) struct Task {
    pub(crate) future: RefCell<Option<Pin<Box<dyn Future<Output = ()>>>>>,
    pub(crate) waker: Waker,
    pub(crate) scheduled: Cell<bool>,
    pub(crate) aborted: Cell<bool>,
}

impl Task {
    pub(crate) fn new(future: Pin<Box<dyn Future<Output = ()>>>, waker: Waker) -> Self {
        Self {
            future: RefCell::new(Some(future)),
            waker,
            scheduled: Cell::new(false),
            aborted: Cell::new(false),
        }
    }
}

/// What a [`JoinHandle`] asks of the loop that runs its task: to abort it, and whether it is
/// the runtime running on this thread. The runtime's core implements it; this module names
/// nothing above it.
pub(crate) trait Abort {
    /// Marks task `id` aborted: the loop drops its future instead of polling it.
    fn abort(&self, id: u64);
    /// Panics unless this is the runtime running on this thread (`what` names the future
    /// polled, in the message).
    fn check_current(&self, what: &str);
}

/// Where a task's output goes, shared by the task and its [`JoinHandle`].
pub(crate) struct JoinState<T> {
    id: u64,
    core: Weak<dyn Abort>,
    result: RefCell<Option<Result<T, JoinError>>>,
    finished: Cell<bool>,
    waker: RefCell<Option<Waker>>,
    /// The [`JoinSet`] this task belongs to, and its key there: told when the task finishes,
    /// so `join_next` never scans.
    set: RefCell<Option<(Weak<ReadyQueue>, u64)>>,
}

impl<T> JoinState<T> {
    pub(crate) fn new(id: u64, core: Weak<dyn Abort>) -> Self {
        Self {
            id,
            core,
            result: RefCell::new(None),
            finished: Cell::new(false),
            waker: RefCell::new(None),
            set: RefCell::new(None),
        }
    }

    fn complete(&self, r: Result<T, JoinError>) {
        if self.finished.replace(true) {
            return;
        }
        *self.result.borrow_mut() = Some(r);
        let w = self.waker.borrow_mut().take();
        if let Some(w) = w {
            w.wake();
        }
        let set = self.set.borrow_mut().take();
        if let Some((queue, key)) = set {
            if let Some(queue) = queue.upgrade() {
                queue.push(key);
            }
        }
    }
}

/// The keys of a [`JoinSet`]'s finished tasks, in the order they finished, and the waker of
/// the `join_next` waiting for one.
pub(crate) struct ReadyQueue {
    keys: RefCell<VecDeque<u64>>,
    waker: RefCell<Option<Waker>>,
}

impl ReadyQueue {
    fn push(&self, key: u64) {
        self.keys.borrow_mut().push_back(key);
        let w = self.waker.borrow_mut().take();
        if let Some(w) = w {
            w.wake();
        }
    }
}

/// The user's future, with panics caught and the output sent to the join handle. Stored
/// inline (the task's one box pins both), not boxed again.
pub(crate) struct TaskFuture<F: Future> {
    future: F,
    join: Rc<JoinState<F::Output>>,
}

impl<F: Future> TaskFuture<F> {
    pub(crate) fn new(future: F, join: Rc<JoinState<F::Output>>) -> Self {
        Self { future, join }
    }
}

impl<F: Future> Future for TaskFuture<F> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // SAFETY: `future` is structurally pinned: it is never moved out of `self`, and the
        // `Drop` impl below only touches `join`.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: as above; `this` stays pinned, so `future` does too.
        let future = unsafe { Pin::new_unchecked(&mut this.future) };
        match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(v)) => {
                this.join.complete(Ok(v));
                Poll::Ready(())
            }
            Err(payload) => {
                this.join.complete(Err(JoinError::Panic(payload)));
                Poll::Ready(())
            }
        }
    }
}

impl<F: Future> Drop for TaskFuture<F> {
    /// A task dropped before it finished (aborted, or its runtime went away) is cancelled.
    fn drop(&mut self) {
        if !self.join.finished.get() {
            self.join.complete(Err(JoinError::Cancelled));
        }
    }
}

/// Why a task gave no output.
pub enum JoinError {
    /// It was aborted ([`JoinHandle::abort`]), or its runtime was dropped, before it finished.
    Cancelled,
    /// It panicked; the payload is the panic's.
    Panic(Box<dyn Any + Send + 'static>),
}

impl JoinError {
    /// Whether the task was cancelled.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, JoinError::Cancelled)
    }

    /// Whether the task panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self, JoinError::Panic(_))
    }

    /// The panic's payload.
    ///
    /// # Panics
    /// If the task did not panic.
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        match self {
            JoinError::Panic(p) => p,
            JoinError::Cancelled => panic!("JoinError::into_panic on a cancelled task"),
        }
    }

    /// The panic message, when the payload is a string.
    pub fn panic_message(&self) -> Option<&str> {
        match self {
            JoinError::Panic(p) => p
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| p.downcast_ref::<String>().map(String::as_str)),
            JoinError::Cancelled => None,
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinError::Cancelled => f.write_str("JoinError::Cancelled"),
            JoinError::Panic(_) => write!(f, "JoinError::Panic({:?})", self.panic_message()),
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinError::Cancelled => f.write_str("task was cancelled"),
            JoinError::Panic(_) => match self.panic_message() {
                Some(m) => write!(f, "task panicked: {m}"),
                None => f.write_str("task panicked"),
            },
        }
    }
}

impl std::error::Error for JoinError {}

impl From<JoinError> for io::Error {
    fn from(e: JoinError) -> io::Error {
        io::Error::other(e.to_string())
    }
}

/// The handle of a spawned task: await it for the task's output. Dropping it detaches the
/// task (it runs on); [`abort`](Self::abort) cancels it.
#[must_use = "dropping a JoinHandle detaches the task"]
pub struct JoinHandle<T> {
    state: Rc<JoinState<T>>,
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("finished", &self.state.finished.get())
            .finish()
    }
}

impl<T> JoinHandle<T> {
    pub(crate) fn new(state: Rc<JoinState<T>>) -> Self {
        Self { state }
    }

    /// Cancels the task: the next time the loop reaches it, its future is dropped instead of
    /// polled (dropping its op futures cancels their ops in the kernel; their buffers stay
    /// owned by the ring until the final CQE). Awaiting the handle then gives
    /// [`JoinError::Cancelled`]. No effect on a finished task.
    pub fn abort(&self) {
        if self.state.finished.get() {
            return;
        }
        if let Some(core) = self.state.core.upgrade() {
            core.abort(self.state.id);
        }
    }

    /// Whether the task finished (with an output, a panic or a cancellation).
    pub fn is_finished(&self) -> bool {
        self.state.finished.get()
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(r) = self.state.result.borrow_mut().take() {
            return Poll::Ready(r);
        }
        if self.state.finished.get() {
            panic!("JoinHandle polled after it returned its result");
        }
        // An unfinished task of another runtime never finishes while this one runs.
        if let Some(core) = self.state.core.upgrade() {
            core.check_current("a JoinHandle (of a task that has not finished)");
        }
        let mut w = self.state.waker.borrow_mut();
        if !w.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            *w = Some(cx.waker().clone());
        }
        Poll::Pending
    }
}

/// A group of tasks of one output type: spawn into it, collect outputs as tasks finish.
/// Dropping the set aborts every task still in it, so a set gives scoped spawning: no task
/// outlives the scope that owns the set.
///
/// ```no_run
/// # boros_rt::block_on(async {
/// let mut set = boros_rt::JoinSet::new();
/// for i in 0..10u64 {
///     set.spawn(async move { i * 2 });
/// }
/// let mut sum = 0;
/// while let Some(r) = set.join_next().await {
///     sum += r.unwrap();
/// }
/// assert_eq!(sum, 90);
/// # });
/// ```
pub struct JoinSet<T> {
    handles: Slab<JoinHandle<T>>,
    ready: Rc<ReadyQueue>,
}

impl<T> fmt::Debug for JoinSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinSet")
            .field("len", &self.handles.len())
            .finish()
    }
}

impl<T: 'static> Default for JoinSet<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: 'static> JoinSet<T> {
    /// An empty set.
    pub fn new() -> Self {
        Self {
            handles: Slab::new(),
            ready: Rc::new(ReadyQueue {
                keys: RefCell::new(VecDeque::new()),
                waker: RefCell::new(None),
            }),
        }
    }

    /// Adds a task spawned on this thread's runtime to the set (`JoinSet::spawn`, in
    /// runtime/mod.rs, spawns it).
    pub(crate) fn insert(&mut self, handle: JoinHandle<T>) {
        let state = handle.state.clone();
        let key = self.handles.insert(handle).as_u64();
        // A task never finishes before `spawn` returns (it is only scheduled), so the hook is
        // in place before it can fire.
        *state.set.borrow_mut() = Some((Rc::downgrade(&self.ready), key));
    }

    /// Tasks in the set (finished ones whose output was not taken yet included).
    pub fn len(&self) -> usize {
        self.handles.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.handles.is_empty()
    }

    /// The output of a finished task (waiting for one if none has finished), or `None` when
    /// the set is empty. Tasks come out in the order they finished. O(1) per call: each task
    /// tells the set when it finishes (no scan of the set).
    pub async fn join_next(&mut self) -> Option<Result<T, JoinError>> {
        std::future::poll_fn(|cx| self.poll_join_next(cx)).await
    }

    /// The poll behind [`join_next`](Self::join_next), for hand-written futures.
    pub fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, JoinError>>> {
        loop {
            if self.handles.is_empty() {
                return Poll::Ready(None);
            }
            let key = self.ready.keys.borrow_mut().pop_front();
            let Some(key) = key else {
                let mut w = self.ready.waker.borrow_mut();
                if !w.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                    *w = Some(cx.waker().clone());
                }
                return Poll::Pending;
            };
            let Some(handle) = self.handles.remove(key) else {
                continue;
            };
            let r = handle.state.result.borrow_mut().take();
            if let Some(r) = r {
                return Poll::Ready(Some(r));
            }
        }
    }

    /// Waits for every task and returns their outputs, as [`join_next`](Self::join_next) gives them.
    pub async fn join_all(mut self) -> Vec<Result<T, JoinError>> {
        let mut out = Vec::with_capacity(self.handles.len());
        while let Some(r) = self.join_next().await {
            out.push(r);
        }
        out
    }

    /// Aborts every task in the set (they stay in it until joined).
    pub fn abort_all(&self) {
        self.handles.for_each(|h| h.abort());
    }
}

impl<T> Drop for JoinSet<T> {
    fn drop(&mut self) {
        self.handles.for_each(|h| h.abort());
    }
}
