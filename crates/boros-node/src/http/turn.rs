//! The time, read once per turn of the loop rather than once per request: a hello-world
//! request read the clock three times (its receive's `req_started`, its response's
//! `idle_since`, the `Date` check), ~1.7% of its CPU in `clock_gettime` on this VM.
//!
//! The cached values are forgotten by [`next`], which the engine calls when JS has had a
//! batch ([`super::delivered`]) and at every flush (before the runtime submits and waits):
//! so a value is never older than the stretch of one turn without blocking (the receives of
//! one reap, the responses JS writes in one batch or one loop phase).

use std::cell::Cell;
use std::time::{Instant, SystemTime};

thread_local! {
    static MONO: Cell<Option<Instant>> = const { Cell::new(None) };
    static WALL: Cell<Option<SystemTime>> = const { Cell::new(None) };
}

/// `Instant::now()` of this turn.
pub fn now() -> Instant {
    MONO.with(|c| {
        c.get().unwrap_or_else(|| {
            let t = Instant::now();
            c.set(Some(t));
            t
        })
    })
}

/// `SystemTime::now()` of this turn (the `Date` header).
pub fn wall() -> SystemTime {
    WALL.with(|c| {
        c.get().unwrap_or_else(|| {
            let t = SystemTime::now();
            c.set(Some(t));
            t
        })
    })
}

/// A new turn: the next [`now`] and [`wall`] read the clock again.
pub fn next() {
    MONO.with(|c| c.set(None));
    WALL.with(|c| c.set(None));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_reading_per_turn() {
        next();
        let a = now();
        let w = wall();
        std::thread::sleep(std::time::Duration::from_millis(2));
        assert_eq!(now(), a, "the same turn: the same instant");
        assert_eq!(wall(), w);
        next();
        assert!(now() > a, "a new turn reads the clock again");
        assert!(wall() > w);
    }
}
