//! Who a completion wakes. An op (or a multishot stream) polled by a task of its runtime with
//! the task's own waker records the task and schedules it directly; polled with any other
//! waker it keeps and wakes that waker. These tests move ops between pollers: a completion
//! that woke the first poller instead of the last would hang them (a watchdog fails them).

use boros_rt::net::UnixStream;
use boros_rt::time::{sleep, timeout, Sleep};
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Once};
use std::task::{Poll, Wake, Waker};
use std::time::Duration;

fn watchdog() {
    static START: Once = Once::new();
    START.call_once(|| {
        std::thread::spawn(|| {
            std::thread::sleep(Duration::from_secs(60));
            eprintln!("watchdog: a wakers test hung for 60 s");
            std::process::exit(1);
        });
    });
}

/// Polls `f` once; true if it was pending.
async fn poll_once<F: Future + Unpin>(f: &mut F) -> bool {
    std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut *f).poll(cx).is_pending())).await
}

/// Task A polls a timer once and hands it over; task B awaits it. A stays alive, waiting on
/// something that never comes, so a completion that scheduled A would leave B hanging.
#[test]
fn an_op_handed_from_one_task_to_another_wakes_the_second() {
    watchdog();
    boros_rt::block_on(async {
        let cell: Rc<RefCell<Option<Sleep>>> = Rc::default();
        let c = cell.clone();
        let a = boros_rt::spawn(async move {
            let mut s = sleep(Duration::from_millis(30));
            assert!(poll_once(&mut s).await, "the timer is in flight");
            *c.borrow_mut() = Some(s);
            std::future::pending::<()>().await;
        });
        while cell.borrow().is_none() {
            boros_rt::yield_now().await;
        }
        let s = cell.borrow_mut().take().unwrap();
        let b = boros_rt::spawn(s);
        assert!(
            timeout(Duration::from_secs(5), b).await.is_ok(),
            "the second task was woken"
        );
        a.abort();
    });
}

/// The same with the `block_on` future as the second poller.
#[test]
fn an_op_handed_from_a_task_to_block_on_wakes_it() {
    watchdog();
    boros_rt::block_on(async {
        let cell: Rc<RefCell<Option<Sleep>>> = Rc::default();
        let c = cell.clone();
        let a = boros_rt::spawn(async move {
            let mut s = sleep(Duration::from_millis(30));
            assert!(poll_once(&mut s).await);
            *c.borrow_mut() = Some(s);
            std::future::pending::<()>().await;
        });
        while cell.borrow().is_none() {
            boros_rt::yield_now().await;
        }
        let s = cell.borrow_mut().take().unwrap();
        // Not through `timeout`: its own timer would poll the sleep again at the end and
        // hide a lost wake-up. A lost wake-up leaves this hanging (the watchdog fails it).
        let t = std::time::Instant::now();
        s.await;
        assert!(t.elapsed() < Duration::from_secs(5));
        a.abort();
    });
}

struct Counting {
    wakes: AtomicUsize,
    inner: Waker,
}

impl Wake for Counting {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
        self.inner.wake_by_ref();
    }
}

/// An op polled with a waker that is not the task's (a combinator's own) is completed through
/// that waker.
#[test]
fn a_foreign_waker_is_the_one_woken() {
    watchdog();
    boros_rt::block_on(async {
        let mut s = sleep(Duration::from_millis(20));
        let mut counting: Option<Arc<Counting>> = None;
        std::future::poll_fn(|cx| {
            let c = counting.get_or_insert_with(|| {
                Arc::new(Counting {
                    wakes: AtomicUsize::new(0),
                    inner: cx.waker().clone(),
                })
            });
            let w = Waker::from(c.clone());
            Pin::new(&mut s).poll(&mut std::task::Context::from_waker(&w))
        })
        .await;
        let wakes = counting.unwrap().wakes.load(Ordering::SeqCst);
        assert!(wakes >= 1, "the foreign waker was woken ({wakes})");
    });
}

/// A socket read (a multishot stream) started in one task and dropped there; the stream moves
/// to another task, whose read must be woken by the data sent afterwards.
#[test]
fn a_socket_read_moved_to_another_task_wakes_it() {
    watchdog();
    boros_rt::block_on(async {
        let (a, b) = UnixStream::pair().unwrap();
        let a = Rc::new(a);
        let cell: Rc<RefCell<Option<Rc<UnixStream>>>> = Rc::default();
        let c = cell.clone();
        let a2 = a.clone();
        let first = boros_rt::spawn(async move {
            let mut read = Box::pin(a2.read(Vec::with_capacity(64)));
            assert!(poll_once(&mut read).await, "nothing to read yet");
            drop(read); // cancel-safe: nothing was read
            *c.borrow_mut() = Some(a2);
            std::future::pending::<()>().await;
        });
        while cell.borrow().is_none() {
            boros_rt::yield_now().await;
        }
        let stream = cell.borrow_mut().take().unwrap();
        let second = boros_rt::spawn(async move {
            let (r, buf) = stream.read(Vec::with_capacity(64)).await;
            (r.unwrap(), buf)
        });
        sleep(Duration::from_millis(10)).await;
        let (r, _) = b.write_all(b"moved".to_vec()).await;
        r.unwrap();
        let (n, buf) = timeout(Duration::from_secs(5), second)
            .await
            .expect("the second task was woken")
            .unwrap();
        assert_eq!(&buf[..n], b"moved");
        first.abort();
        drop(a);
    });
}
