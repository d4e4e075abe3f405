//! The loop: its phases, wakers, tasks, timers, bursts.

mod common;

use boros_rt::time::{sleep, sleep_until, timeout};
use boros_rt::{op, spawn, stats, yield_now, Config, JoinSet, Runtime};
use common::watchdog;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

async fn nop() -> i32 {
    op::submit(boros::op::Nop).unwrap().await.result
}

#[test]
fn n_ready_tasks_share_one_enter() {
    watchdog();
    let rt = Runtime::new().unwrap();
    rt.block_on(async {
        // Warm up: the wake-up read is queued and submitted with this first enter.
        assert_eq!(nop().await, 0);
        let before = stats();
        let handles: Vec<_> = (0..100).map(|_| spawn(nop())).collect();
        for h in handles {
            assert_eq!(h.await.unwrap(), 0);
        }
        let after = stats();
        let enters = after.driver.enter_calls - before.driver.enter_calls;
        let batches = after.driver.batches - before.driver.batches;
        let submitted = after.driver.ops_submitted - before.driver.ops_submitted;
        assert_eq!(submitted, 100, "{before:?} -> {after:?}");
        assert_eq!(
            (enters, batches),
            (1, 1),
            "100 ready tasks each pushing a nop must share one io_uring_enter: {before:?} -> {after:?}"
        );
        assert_eq!(after.polls - before.polls, 200 + 1, "each task polled twice, main once more");
    });
}

#[test]
fn reads_of_ready_tasks_share_one_submit() {
    watchdog();
    let path = std::env::temp_dir().join(format!("boros-rt-batch-{}", std::process::id()));
    std::fs::write(&path, vec![7u8; 64 * 4096]).unwrap();
    let rt = Runtime::new().unwrap();
    rt.block_on(async {
        let file = Rc::new(boros_rt::fs::File::open(&path).await.unwrap());
        let before = stats();
        let handles: Vec<_> = (0..64u64)
            .map(|i| {
                let f = file.clone();
                spawn(async move {
                    let (n, buf) = f.read_at(Vec::with_capacity(4096), i * 4096).await;
                    assert_eq!(n.unwrap(), 4096);
                    assert!(buf.iter().all(|&b| b == 7));
                })
            })
            .collect();
        for h in handles {
            h.await.unwrap();
        }
        let after = stats();
        // All 64 reads go to the kernel in one batch (cached reads may complete inline
        // or via task work, which may take more enters to reap, but never more batches).
        assert_eq!(
            after.driver.batches - before.driver.batches,
            1,
            "{before:?} -> {after:?}"
        );
    });
    std::fs::remove_file(&path).unwrap();
}

/// A one-shot channel whose sender lives on another thread.
struct Oneshot<T> {
    state: Mutex<(Option<T>, Option<Waker>)>,
}

impl<T> Oneshot<T> {
    fn send(&self, v: T) {
        let w = {
            let mut s = self.state.lock().unwrap();
            s.0 = Some(v);
            s.1.take()
        };
        if let Some(w) = w {
            w.wake();
        }
    }
    async fn recv(&self) -> T {
        std::future::poll_fn(|cx| {
            let mut s = self.state.lock().unwrap();
            match s.0.take() {
                Some(v) => Poll::Ready(v),
                None => {
                    s.1 = Some(cx.waker().clone());
                    Poll::Pending
                }
            }
        })
        .await
    }
}

#[test]
fn wake_from_another_thread_interrupts_the_wait() {
    watchdog();
    let rt = Runtime::new().unwrap();
    for round in 0..20u32 {
        let chan = Arc::new(Oneshot {
            state: Mutex::new((None, None)),
        });
        let tx = chan.clone();
        let sender = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(5));
            tx.send(round);
        });
        let started = Instant::now();
        // Nothing but the wake-up read is in flight: only the eventfd can end the wait.
        let got = rt.block_on(async move {
            let h = spawn(async move { chan.recv().await });
            h.await.unwrap()
        });
        assert_eq!(got, round);
        assert!(started.elapsed() < Duration::from_secs(5));
        sender.join().unwrap();
    }
    let s = rt.stats();
    assert!(s.remote_wakes >= 20, "{s:?}");
    assert!(s.waits >= 20, "the loop must have blocked: {s:?}");
}

#[test]
fn a_panicking_task_is_reported_and_the_runtime_goes_on() {
    watchdog();
    let rt = Runtime::new().unwrap();
    rt.block_on(async {
        let h = spawn(async {
            nop().await;
            panic!("task boom");
        });
        let err = h.await.unwrap_err();
        assert!(err.is_panic());
        assert_eq!(err.panic_message(), Some("task boom"));
        // Other tasks and ops still run.
        let h2 = spawn(async { nop().await + 41 });
        assert_eq!(h2.await.unwrap(), 41);
    });
    // And the runtime is usable for another block_on.
    assert_eq!(rt.block_on(async { spawn(async { 3 }).await.unwrap() }), 3);
}

#[test]
fn abort_cancels_a_sleeping_task() {
    watchdog();
    boros_rt::block_on(async {
        let h = spawn(async {
            sleep(Duration::from_secs(30)).await;
            1
        });
        sleep(Duration::from_millis(5)).await;
        let started = Instant::now();
        h.abort();
        let err = h.await.unwrap_err();
        assert!(err.is_cancelled());
        assert!(started.elapsed() < Duration::from_secs(1));
        // The cancelled timeout op comes back and leaves the ring.
        sleep(Duration::from_millis(5)).await;
        assert_eq!(stats().tasks, 0);
    });
}

#[test]
fn joinset_collects_and_its_drop_aborts() {
    watchdog();
    boros_rt::block_on(async {
        let mut set = JoinSet::new();
        for i in 0..50u64 {
            set.spawn(async move {
                sleep(Duration::from_millis(50 - i)).await;
                i
            });
        }
        let mut order = Vec::new();
        while let Some(r) = set.join_next().await {
            order.push(r.unwrap());
        }
        // Outputs come as tasks finish (tasks finishing in the same turn in any order).
        assert_eq!(order.len(), 50);
        order.sort_unstable();
        assert_eq!(order, (0..50).collect::<Vec<_>>());

        let flag = Rc::new(RefCell::new(false));
        {
            let mut scoped = JoinSet::new();
            let f = flag.clone();
            scoped.spawn(async move {
                sleep(Duration::from_millis(50)).await;
                *f.borrow_mut() = true;
            });
            yield_now().await;
        } // dropped: the task is aborted
        sleep(Duration::from_millis(100)).await;
        assert!(!*flag.borrow(), "a task outlived its JoinSet");
        assert_eq!(stats().tasks, 0);
    });
}

/// `join_next` was a linear scan that moved unfinished handles to the front: 40,000 tasks
/// took 1.7 s (release) to collect and 100,000 timers ran past 10 s. Now each finished task
/// tells its set: this collects 40,000 tasks and 100,000 timers (in a debug build) in well
/// under the watchdog's 120 s, where the quadratic set needed minutes.
#[test]
fn joinset_join_next_is_not_quadratic() {
    watchdog();
    boros_rt::block_on(async {
        let started = Instant::now();
        let mut set = JoinSet::new();
        for i in 0..40_000u64 {
            set.spawn(async move { i });
        }
        let mut sum = 0u64;
        while let Some(r) = set.join_next().await {
            sum += r.unwrap();
        }
        assert_eq!(sum, 40_000 * 39_999 / 2);
        let tasks = started.elapsed();

        let started = Instant::now();
        let mut set = JoinSet::new();
        for i in 0..100_000u64 {
            set.spawn(async move {
                sleep(Duration::from_millis(1 + i % 50)).await;
                i
            });
        }
        assert_eq!(set.len(), 100_000);
        let mut n = 0u64;
        let mut sum = 0u64;
        while let Some(r) = set.join_next().await {
            n += 1;
            sum += r.unwrap();
        }
        assert_eq!((n, sum), (100_000, 100_000 * 99_999 / 2));
        assert!(set.is_empty());
        let timers = started.elapsed();
        // Generous: a hang guard, not a speed measurement (that is rt-bench's job).
        assert!(
            tasks < Duration::from_secs(30) && timers < Duration::from_secs(60),
            "join_next looks super-linear: 40,000 tasks {tasks:?}, 100,000 timers {timers:?}"
        );
        assert_eq!(stats().tasks, 0);
    });
}

#[test]
fn yield_now_interleaves_tasks() {
    watchdog();
    boros_rt::block_on(async {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mk = |name: char| {
            let log = log.clone();
            spawn(async move {
                for i in 0..3 {
                    log.borrow_mut().push((name, i));
                    yield_now().await;
                }
            })
        };
        let (a, b) = (mk('a'), mk('b'));
        a.await.unwrap();
        b.await.unwrap();
        let got = log.borrow().clone();
        assert_eq!(
            got,
            vec![('a', 0), ('b', 0), ('a', 1), ('b', 1), ('a', 2), ('b', 2)]
        );
    });
}

#[test]
fn a_burst_of_10000_ops_overflowing_the_cq_all_complete() {
    watchdog();
    // A CQ of 128 entries for 10,000 ops pushed in one turn: the SQ fills and is submitted
    // many times before anything is reaped, the CQ overflows, and nothing may be lost.
    let rt = Runtime::with_config(&Config {
        sq_entries: 64,
        cq_entries: 128,
        attach_wq: None,
    })
    .unwrap();
    let path = std::env::temp_dir().join(format!("boros-rt-burst-{}", std::process::id()));
    std::fs::write(&path, (0..=255u8).cycle().take(10_000).collect::<Vec<u8>>()).unwrap();
    rt.block_on(async {
        let file = Rc::new(boros_rt::fs::File::open(&path).await.unwrap());
        let mut set = JoinSet::new();
        for i in 0..10_000u64 {
            let f = file.clone();
            set.spawn(async move {
                if i % 2 == 0 {
                    assert_eq!(nop().await, 0);
                } else {
                    let (n, buf) = f.read_at(Vec::with_capacity(1), i).await;
                    assert_eq!(n.unwrap(), 1);
                    assert_eq!(buf[0], (i % 256) as u8);
                }
                i
            });
        }
        let mut seen = vec![false; 10_000];
        while let Some(r) = set.join_next().await {
            seen[r.unwrap() as usize] = true;
        }
        assert!(seen.iter().all(|&s| s));
    });
    let s = rt.stats();
    assert!(s.completions >= 10_000, "{s:?}");
    assert_eq!(s.tasks, 0);
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn a_thousand_timers_fire_in_deadline_order() {
    watchdog();
    boros_rt::block_on(async {
        let fired = Rc::new(RefCell::new(Vec::with_capacity(1000)));
        // Timers whose deadline had not passed yet when their task first ran (all of them,
        // except on a machine so slow, valgrind, that polling 1,000 tasks takes 500 ms).
        let armed = Rc::new(RefCell::new(vec![false; 1000]));
        let start = Instant::now() + Duration::from_millis(500);
        // Spawn in a scrambled order: 0, 7, 14, ... (mod 1000; 7 is coprime with 1000).
        let mut set = JoinSet::new();
        for k in 0..1000u64 {
            let i = (k * 7) % 1000;
            let (fired, armed) = (fired.clone(), armed.clone());
            set.spawn(async move {
                let deadline = start + Duration::from_millis(i);
                armed.borrow_mut()[i as usize] = Instant::now() < deadline;
                sleep_until(deadline).await;
                assert!(Instant::now() >= deadline, "timer {i} fired early");
                fired.borrow_mut().push(i);
            });
        }
        while let Some(r) = set.join_next().await {
            r.unwrap();
        }
        let fired = fired.borrow();
        assert_eq!(fired.len(), 1000);
        let armed = armed.borrow();
        let in_time: Vec<u64> = fired
            .iter()
            .copied()
            .filter(|&i| armed[i as usize])
            .collect();
        let mut sorted = in_time.clone();
        sorted.sort_unstable();
        assert_eq!(in_time, sorted, "timers fired out of deadline order");
        let under_valgrind =
            std::fs::read_to_string("/proc/self/maps").is_ok_and(|m| m.contains("vgpreload"));
        if !under_valgrind {
            assert_eq!(
                in_time.len(),
                1000,
                "every timer should have been armed in time"
            );
        }
        assert!(Instant::now() >= start + Duration::from_millis(999));
    });
}

#[test]
fn timeout_elapses_or_passes_the_output_through() {
    watchdog();
    boros_rt::block_on(async {
        let t = Instant::now();
        let r = timeout(Duration::from_millis(20), sleep(Duration::from_secs(30))).await;
        assert!(r.is_err());
        let took = t.elapsed();
        assert!(
            took >= Duration::from_millis(20) && took < Duration::from_secs(2),
            "{took:?}"
        );
        let r = timeout(Duration::from_secs(30), async { nop().await + 5 }).await;
        assert_eq!(r, Ok(5));
        // The cancelled 30 s timer must not keep anything in flight for long.
        sleep(Duration::from_millis(5)).await;
        assert!(stats().driver.in_flight <= 1, "{:?}", stats());
    });
}

#[test]
fn thread_per_core_runs_one_runtime_per_thread() {
    watchdog();
    let threads = boros_rt::thread::Builder::new()
        .threads(3)
        .run(|index| async move {
            let before = stats().driver.ops_submitted;
            let m = boros_rt::fs::metadata("/proc/self").await.unwrap();
            assert!(m.is_dir());
            sleep(Duration::from_millis(10)).await;
            let attached = boros_rt::ring_info().setup_flags.contains(&"ATTACH_WQ");
            (
                index,
                std::thread::current().name().unwrap().to_owned(),
                stats().driver.ops_submitted - before,
                attached,
            )
        })
        .unwrap();
    assert!(threads.attached());
    let out = threads.join().unwrap();
    assert_eq!(out.len(), 3);
    for (i, (index, name, ops, attached)) in out.into_iter().enumerate() {
        assert_eq!(index, i);
        // The first ring owns the worker backend; the others attach to it.
        assert_eq!(attached, i > 0, "ring {i}");
        assert_eq!(name, format!("boros-rt-{i}"));
        assert!(ops >= 2);
    }
}
