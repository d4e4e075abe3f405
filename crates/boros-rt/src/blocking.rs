//! Work with no io_uring op (`getdents64`, `copy_file_range`) runs on a helper thread; its
//! result wakes the task through the runtime's cross-thread wake-up (the eventfd read the
//! loop keeps in flight), so the loop never blocks on it.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

struct Shared<T> {
    result: Option<std::thread::Result<T>>,
    waker: Option<Waker>,
}

/// The future of [`unblock`].
pub(crate) struct Unblock<T> {
    shared: Arc<Mutex<Shared<T>>>,
}

/// Runs `f` on a new thread; resolves to its output (a panic in `f` is resumed here).
/// Dropping the future does not stop `f`: give it owned data (duplicated descriptors), not
/// borrowed.
pub(crate) fn unblock<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Unblock<T> {
    let shared = Arc::new(Mutex::new(Shared {
        result: None,
        waker: None,
    }));
    let s = shared.clone();
    std::thread::Builder::new()
        .name("boros-rt-blocking".into())
        .spawn(move || {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
            let waker = {
                let mut g = s.lock().unwrap_or_else(|e| e.into_inner());
                g.result = Some(r);
                g.waker.take()
            };
            if let Some(w) = waker {
                w.wake();
            }
        })
        .expect("boros-rt: cannot start a helper thread");
    Unblock { shared }
}

impl<T> Future for Unblock<T> {
    type Output = T;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut g = self.shared.lock().unwrap_or_else(|e| e.into_inner());
        match g.result.take() {
            Some(Ok(v)) => Poll::Ready(v),
            Some(Err(panic)) => std::panic::resume_unwind(panic),
            None => {
                if !g.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                    g.waker = Some(cx.waker().clone());
                }
                Poll::Pending
            }
        }
    }
}
