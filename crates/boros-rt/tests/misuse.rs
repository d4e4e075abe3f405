//! Misuse and its errors: calls outside a runtime, nested block_on, setup errors that convert
//! to io::Error, futures moved from one runtime to another.

mod common;

use boros_rt::time::sleep;
use boros_rt::{op, spawn, yield_now, JoinSet, Runtime};
use common::watchdog;
use std::time::Duration;

fn text(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

#[test]
fn block_on_outside_and_nested_are_clear_errors() {
    let r = std::panic::catch_unwind(|| {
        drop(spawn(async {}));
    });
    let msg = text(r.unwrap_err());
    assert!(msg.contains("outside of a boros-rt runtime"), "{msg}");
    let r = std::panic::catch_unwind(|| {
        boros_rt::block_on(async { boros_rt::block_on(async {}) });
    });
    let msg = text(r.unwrap_err());
    assert!(msg.contains("already running on this thread"), "{msg}");
}

/// `Runtime::new()?` compiles in a function returning `io::Result` (`From<SetupError> for
/// io::Error`), and the core's types are reachable through boros-rt.
#[test]
fn setup_errors_convert_and_core_types_are_reexported() -> std::io::Result<()> {
    let rt = Runtime::new()?;
    let info: boros_rt::RingInfo = rt.ring_info();
    let _: boros_rt::Stats = rt.stats().driver;
    let _: Option<boros_rt::SetupError> = None;
    let n = rt.block_on(async {
        let done = op::submit(op::Nop)?.await;
        done.result()
    })?;
    assert_eq!(n, 0);
    assert!(!format!("{info:?}").is_empty());
    Ok(())
}

fn poll_outside<F: std::future::Future>(f: F) -> String {
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut f = std::pin::pin!(f);
        let _ = f
            .as_mut()
            .poll(&mut std::task::Context::from_waker(std::task::Waker::noop()));
    }));
    text(r.expect_err("polling outside a runtime must panic"))
}

/// Panics outside a runtime name what the user called, not an internal function.
#[test]
fn panics_outside_a_runtime_name_the_users_call() {
    let msg = poll_outside(boros_rt::fs::File::open("/etc/hostname"));
    assert!(
        msg.contains("boros_rt::fs::File::open called outside"),
        "{msg}"
    );
    let msg = poll_outside(boros_rt::fs::remove_file("/nonexistent"));
    assert!(
        msg.contains("boros_rt::fs::remove_file called outside"),
        "{msg}"
    );
    let msg = poll_outside(boros_rt::net::TcpStream::connect("127.0.0.1:9"));
    assert!(
        msg.contains("boros_rt::net::TcpStream::connect called outside"),
        "{msg}"
    );
    let mut set = JoinSet::<()>::new();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| set.spawn(async {})));
    let msg = text(r.unwrap_err());
    assert!(
        msg.contains("boros_rt::JoinSet::spawn called outside"),
        "{msg}"
    );
}

/// A future started on one runtime and awaited on another used to wait forever: it panics
/// with a message saying what happened.
#[test]
fn a_future_moved_to_another_runtime_panics_clearly() {
    watchdog();
    let a = Runtime::new().unwrap();
    let b = Runtime::new().unwrap();
    // An op (inside a sleep) started on `a`...
    let mut sleeping = Box::pin(sleep(Duration::from_secs(3600)));
    a.block_on(async {
        assert!(boros_rt::future::poll_once(&mut sleeping).await.is_none());
    });
    // ...polled on `b`.
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        b.block_on(async { sleeping.as_mut().await })
    }));
    let msg = text(r.unwrap_err());
    assert!(
        msg.contains("created on one runtime was polled on another"),
        "{msg}"
    );
    // A task spawned on `a`, awaited on `b` before it ran.
    let handle = a.spawn(async { 7 });
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| b.block_on(handle)));
    let msg = text(r.unwrap_err());
    assert!(msg.contains("JoinHandle"), "{msg}");
    // Once it finished on `a`, its output can be taken anywhere.
    let handle = a.spawn(async { 8 });
    a.block_on(yield_now());
    a.block_on(yield_now());
    assert_eq!(b.block_on(handle).unwrap(), 8);
    drop(sleeping);
}
