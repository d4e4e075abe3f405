//! The wake-up without `EINTR` at one busy connection (issue 21, twelfth round; docs/net.md).
//!
//! Under `COOP_TASKRUN` a socket's wake-up queues the ring's receive as task work with
//! `TWA_SIGNAL_NO_IPI`: libuv's `epoll_pwait` ends with `EINTR`, the task work runs on the way
//! out, and libuv has to call `epoll_pwait` a second time to find the ring fd readable (~3.5 µs
//! per message at one connection). `ep_poll` returns ready events before it looks at pending
//! signals, so if the socket's wake-up also makes something in libuv's epoll ready, the first
//! `epoll_pwait` returns that event instead of `EINTR` (the task work still runs on its way out,
//! so the CQE is there when the callback reaps).
//!
//! Each runtime has one epoll instance of its own (`E`), which libuv watches with a uv_poll
//! (`runtime::on_wake`). While the thread has at most [`MAX_SOCKETS`] sockets with an armed
//! receive, those sockets are in `E`, edge-triggered: a socket's new bytes make `E` readable
//! (nested epoll wakes libuv's epoll from the same wake-up), a paused reader's unread bytes do
//! not fire again, and every arrival fires once. With more armed receives none is in `E`: the
//! ring's batching is what pays there, and an epoll event per readable socket would cost a
//! callback each.
//!
//! A socket leaves `E` when its receive ends (the op is dropped after its final CQE: a pause,
//! the end of the stream, an error), when the K+1-th receive is armed, and before boros closes
//! its descriptor (`forget`): epoll keys its entries by file *and* number, and the ring may still
//! hold the file after the close, so an entry left behind would outlive the number, which a new
//! socket may then get. Entries are looked up by number and checked against the receive's id, so
//! the final CQE of a receive on a closed (and reused) number does not touch the new socket's.
//!
//! One set per thread (one runtime per JS thread), touched only on that thread.

use std::cell::RefCell;
use std::collections::HashMap;

/// How many sockets with an armed receive may be in `E` at once: above this, none is.
pub const MAX_SOCKETS: usize = 1;

/// Libuv polls the socket itself (a uv_poll per socket in the set) instead of `E`.
struct Direct {
    uv: &'static crate::uv::Uv,
    loop_: *mut crate::uv::Loop,
    data: *mut std::ffi::c_void,
    cb: crate::uv::PollCb,
}

#[derive(Default)]
struct Set {
    /// The runtime's epoll instance, or -1 (no runtime, its teardown begun, or no epoll).
    epfd: i32,
    direct: Option<Direct>,
    /// The uv_poll of each socket in `in_e` (direct mode), same order.
    handles: Vec<*mut crate::uv::Handle>,
    /// Sockets with an armed receive: number -> the id of that receive.
    armed: HashMap<i32, u64>,
    /// The sockets in `E` now (at most [`MAX_SOCKETS`]).
    in_e: Vec<i32>,
    next_id: u64,
    /// `E`'s callbacks, and sockets ever added to `E` (`stats()`).
    events: u64,
    adds: u64,
}

thread_local! {
    static SET: RefCell<Set> = RefCell::new(Set { epfd: -1, ..Set::default() });
}

fn ctl(epfd: i32, op: i32, fd: i32) -> bool {
    let mut ev = libc::epoll_event {
        events: (libc::EPOLLIN | libc::EPOLLET) as u32,
        u64: fd as u64,
    };
    // SAFETY: epoll_ctl reads `ev` (a local) for ADD; `epfd` is this runtime's epoll instance,
    // open until `stop`; `fd` is a descriptor with an armed receive, not closed yet (`forget`
    // runs before boros closes one).
    unsafe { libc::epoll_ctl(epfd, op, fd, &mut ev) == 0 }
}

impl Set {
    fn add(&mut self, fd: i32) {
        if let Some(d) = &self.direct {
            let h = crate::uv::alloc_handle(d.uv, crate::uv::UV_POLL, d.data);
            // SAFETY: a fresh handle of libuv's size, this thread's loop, an open socket.
            let ok = unsafe {
                (d.uv.poll_init)(d.loop_, h, fd) == 0
                    && (d.uv.poll_start)(h, crate::uv::UV_READABLE, d.cb) == 0
            };
            if !ok {
                // SAFETY: as below (closing a handle that init may or may not have set up is
                // only safe after a successful init: otherwise plain free).
                unsafe { libc::free(h) };
                return;
            }
            // SAFETY: the handle is open.
            unsafe { (d.uv.unref)(h) };
            self.in_e.push(fd);
            self.handles.push(h);
            self.adds += 1;
            return;
        }
        if ctl(self.epfd, libc::EPOLL_CTL_ADD, fd) {
            self.in_e.push(fd);
            self.adds += 1;
        }
    }

    fn del(&mut self, i: usize) {
        let fd = self.in_e.swap_remove(i);
        if let Some(d) = &self.direct {
            let h = self.handles.swap_remove(i);
            // SAFETY: the handle is open; uv_poll_stop takes the descriptor out of libuv's
            // epoll at once (uv__platform_invalidate_fd), before boros closes it; the close
            // callback frees the memory.
            unsafe {
                (d.uv.poll_stop)(h);
                (d.uv.close)(h, free_handle);
            }
        } else {
            ctl(self.epfd, libc::EPOLL_CTL_DEL, fd);
        }
    }

    fn unlink(&mut self, fd: i32) {
        if let Some(i) = self.in_e.iter().position(|&f| f == fd) {
            self.del(i);
        }
        // Back to at most MAX_SOCKETS: the ones left go (back) into E.
        if self.armed.len() <= MAX_SOCKETS && self.in_e.len() < self.armed.len() {
            let out: Vec<i32> = self
                .armed
                .keys()
                .copied()
                .filter(|f| !self.in_e.contains(f))
                .collect();
            for f in out {
                self.add(f);
            }
        }
    }
}

/// A receive is armed on socket `fd`: returns its id (for [`disarm`]).
pub fn arm(fd: i32) -> u64 {
    SET.with(|s| {
        let mut s = s.borrow_mut();
        if s.epfd < 0 {
            return 0;
        }
        s.next_id += 1;
        let id = s.next_id;
        // A new receive on a socket whose previous one (paused) has not ended yet: the same
        // socket, already counted (and in E if it was).
        if s.armed.insert(fd, id).is_some() {
            return id;
        }
        if s.armed.len() <= MAX_SOCKETS {
            s.add(fd);
        } else {
            while !s.in_e.is_empty() {
                s.del(0);
            }
        }
        id
    })
}

/// Receive `id` on socket `fd` ended (its op is dropped).
pub fn disarm(fd: i32, id: u64) {
    SET.with(|s| {
        let mut s = s.borrow_mut();
        if s.epfd < 0 || s.armed.get(&fd) != Some(&id) {
            return;
        }
        s.armed.remove(&fd);
        s.unlink(fd);
    })
}

/// boros is about to close socket `fd`: out of `E` while the number is still its.
pub fn forget(fd: i32) {
    SET.with(|s| {
        let mut s = s.borrow_mut();
        if s.epfd < 0 || s.armed.remove(&fd).is_none() {
            return;
        }
        s.unlink(fd);
    })
}

/// This thread's runtime watches epoll instance `epfd` from now on.
pub fn start(epfd: i32) {
    SET.with(|s| {
        *s.borrow_mut() = Set {
            epfd,
            ..Set::default()
        }
    });
}

/// This thread's runtime has libuv poll the set's sockets themselves.
pub fn start_direct(
    uv: &'static crate::uv::Uv,
    loop_: *mut crate::uv::Loop,
    data: *mut std::ffi::c_void,
    cb: crate::uv::PollCb,
) {
    SET.with(|s| {
        *s.borrow_mut() = Set {
            epfd: 0,
            direct: Some(Direct {
                uv,
                loop_,
                data,
                cb,
            }),
            ..Set::default()
        }
    });
}

/// A socket's uv_poll fired with no work: its bytes wait with no receive taking them (a pause
/// whose cancel has not ended, a starved receive). Level-triggered, it would fire on every
/// turn: out of libuv's polling until the next switch (the receive still works, through the
/// ring's own wake-up).
pub fn quiet(h: *mut crate::uv::Handle) {
    SET.with(|s| {
        let mut s = s.borrow_mut();
        if let Some(i) = s.handles.iter().position(|&x| x == h) {
            s.del(i);
        }
    })
}

/// The runtime's teardown began: no more changes to `E` (its descriptor closes with the
/// runtime, and every entry with it); the sockets' own uv_polls close now.
pub fn stop() {
    SET.with(|s| {
        let mut s = s.borrow_mut();
        while s.direct.is_some() && !s.in_e.is_empty() {
            s.del(0);
        }
        *s = Set {
            epfd: -1,
            ..Set::default()
        };
    });
}

unsafe extern "C" fn free_handle(h: *mut crate::uv::Handle) {
    // SAFETY: allocated by alloc_handle; libuv is done with it.
    unsafe { libc::free(h) };
}

/// One callback of `E`.
pub fn count_event() {
    SET.with(|s| s.borrow_mut().events += 1);
}

/// (callbacks of `E`, sockets in `E` now, sockets ever added to `E`) on this thread.
pub fn counts() -> (u64, usize, u64) {
    SET.with(|s| {
        let s = s.borrow();
        (s.events, s.in_e.len(), s.adds)
    })
}

/// Empties `E`'s ready list (its entries are edge-triggered: what was reported is not reported
/// again until new bytes come), so libuv's level-triggered poll on `E` does not fire again for
/// a socket left readable (`runtime::on_wake` says when).
pub fn drain(epfd: i32) {
    const N: usize = 8;
    let mut evs = [libc::epoll_event { events: 0, u64: 0 }; N];
    loop {
        // SAFETY: epoll_wait writes at most N entries into the local array; a zero timeout
        // does not block.
        let n = unsafe { libc::epoll_wait(epfd, evs.as_mut_ptr(), N as i32, 0) };
        if n < N as i32 {
            break;
        }
    }
}
