//! Descriptors this thread's boros objects own: `FileHandle`s opened on the ring and
//! `boros/net` sockets (created, listening or accepted here). A descriptor leaves the set when
//! boros closes it (`close` of a descriptor). At the env's teardown (worker exit, after the
//! last CQE), the ones still in the set are closed, as Node closes the descriptors a worker
//! opened: a terminated worker leaves none behind (issue 24). Descriptors handed out raw are
//! not in this set: in a worker, `boros/fs/callback`'s `open`/`close` are node:fs' own, so Node's
//! set of unmanaged descriptors (`trackUnmanagedFds`) holds them and Node closes them at the
//! worker's end, exactly as for plain Node (src-ts/fs/ring-callbacks.ts, `NODE_TRACKS_FDS`).
//! `ops.open`'s are the caller's: tracking them here would close at teardown a number that
//! node:fs' `closeSync` had closed and another thread reused since.
//!
//! One set per thread, as there is one runtime per JS thread, touched only on that thread.

use std::cell::RefCell;
use std::collections::HashSet;

thread_local! {
    static OWNED: RefCell<HashSet<i32>> = RefCell::new(HashSet::new());
}

/// `fd` belongs to a boros object of this thread from now on.
pub fn own(fd: i32) {
    if fd >= 0 {
        OWNED.with(|s| s.borrow_mut().insert(fd));
    }
}

/// `fd` is being closed by boros (or handed away): no longer this thread's to close.
pub fn disown(fd: i32) {
    OWNED.with(|s| s.borrow_mut().remove(&fd));
}

/// How many descriptors this thread owns.
pub fn count() -> usize {
    OWNED.with(|s| s.borrow().len())
}

/// Closes every descriptor still owned (env teardown: nothing is in flight any more, and no
/// JS will run on this thread again). Returns how many.
pub fn close_all() -> usize {
    let fds: Vec<i32> = OWNED.with(|s| s.borrow_mut().drain().collect());
    for &fd in &fds {
        // SAFETY: `fd` is a descriptor this thread's boros objects opened and never closed; no
        // op uses it any more (every CQE is in) and no JS will reach it again.
        unsafe { libc::close(fd) };
    }
    fds.len()
}
