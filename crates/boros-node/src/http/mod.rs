//! The HTTP/1.1 engine (issue 20): parsing on each connection's multishot receive, responses
//! serialised into memory the ring owns and sent once per connection per turn.
//!
//! - A server is a listening socket with a multishot accept whose sink ([`HttpAccept`]) sets
//!   each connection up here (`TCP_NODELAY`, a [`Conn`]), without telling JS.
//! - Each connection's multishot receive ([`crate::ops::RecvStream`] with [`HttpRecv`], on the
//!   thread's shared receive ring) feeds its parser; parsed requests, body chunks and closes
//!   are records (`record.rs`) in the batch's stream events: one JS call per batch.
//! - JS answers through `api/http.rs` (`respond`, `write`...), which only appends bytes to the
//!   connection's output and marks it dirty. [`flush`], called by the runtime before each
//!   submit, pushes what dirty connections need: one send each, receives, closes.
//!
//! Ops complete into functions here ([`on_sent`], [`on_shut`], [`on_closed`]), which look the
//! connection up by `(server, conn)`; a connection that is gone is simply not found.

pub mod batch;
mod conn;
mod conn_write;
mod file;
pub mod out;
mod parse;
mod record;
pub mod respond;
mod sinks;
mod syntax;
pub mod turn;
pub mod zc;

pub use conn::Conn;
use conn::Recv;
pub use sinks::{HttpAccept, HttpRecv};

use crate::complete::{JsBatch, NodeOp};
use crate::ops::HttpOp;
use crate::wire::http as w;
use boros::{op, Driver};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::time::{Duration, Instant};

/// A server's limits (node:http's options and defaults; see `src-ts/http/engine.ts`).
pub struct Limits {
    pub max_header: usize,
    pub max_body: u64,
    pub headers_timeout: Duration,
    pub request_timeout: Duration,
    pub keep_alive: Duration,
    pub max_requests: u32,
    pub hwm: usize,
    /// Methods accepted (node's `http.METHODS`).
    pub methods: Vec<String>,
    /// A tab after a `Content-Length`'s digits is taken (llhttp 9.4+).
    pub content_length_tab: bool,
    /// A request with `Connection: upgrade` and `Upgrade` switches protocols (the engine stops
    /// reading it; JS takes the socket). False: it is an ordinary request, as node:http takes
    /// one when its server has no `'upgrade'` listener. A `CONNECT` always switches.
    pub upgrades: bool,
}

/// Hashes connection ids (small, unique, increasing) with one multiply: `HashMap`'s default
/// SipHash was ~0.5% of a hello-world request's CPU (one look-up per receive, response, send).
#[derive(Default)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u32(&mut self, n: u32) {
        // The multiply spreads the id into the high bits the table's control bytes come from.
        self.0 = u64::from(n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// A server's connections by id.
pub type Conns = HashMap<u32, Conn, BuildHasherDefault<IdHasher>>;

/// The listener's multishot accept.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Accept {
    /// To be armed by the next flush.
    Wanted,
    Armed(u64),
    /// Ended (closing, or an error JS was told of).
    Stopped,
}

pub struct Server {
    /// The façade's stream id: every record of this server is an event of it.
    pub stream: u32,
    pub fd: i32,
    pub limits: Limits,
    pub conns: Conns,
    next_conn: u32,
    accept: Accept,
    pub closing: bool,
    listener_closed: bool,
    pub referenced: bool,
    dirty: Vec<u32>,
}

thread_local! {
    /// The thread's servers, by id (ids are not reused).
    static SERVERS: RefCell<Vec<Option<Server>>> = const { RefCell::new(Vec::new()) };
    /// Something waits for [`flush`].
    static PENDING: Cell<bool> = const { Cell::new(false) };
    /// Batches handed to JS so far (see [`Conn::deferred`]).
    static DELIVERED: Cell<u64> = const { Cell::new(0) };
    /// Turns of the event loop so far (see [`Conn::eof_at`]).
    static LOOP_TURNS: Cell<u64> = const { Cell::new(0) };
}

/// A new turn of the event loop: called by the runtime's prepare callback, before its flush.
pub fn new_loop_turn() {
    LOOP_TURNS.with(|t| t.set(t.get().wrapping_add(1)));
}

/// Turns of the event loop so far.
pub fn loop_turn() -> u64 {
    LOOP_TURNS.with(Cell::get)
}

/// JS has been handed a batch of events: called by the runtime after each delivery.
pub fn delivered() {
    DELIVERED.with(|d| d.set(d.get().wrapping_add(1)));
    turn::next();
}

/// Batches handed to JS so far.
pub fn deliveries() -> u64 {
    DELIVERED.with(Cell::get)
}

/// The env is going away (before its in-flight ops are cancelled): every connection closes
/// once its ops are done, without sending more (a short send's rest was pushed again after
/// the cancel, and that send then held the teardown), and those that wait for a zero-copy
/// notification are reset so that it comes (see `zc.rs`).
pub fn teardown() {
    for_each_conn(|c| {
        zc::reset_if_pending(c);
        c.die(w::ERR_ERRNO, -libc::ECANCELED);
    });
}

/// Drops every server of this thread (the env is going away: their connections may hold
/// references to JS bodies, which must be released while the env is still there).
pub fn drop_all() {
    batch::release();
    let servers = SERVERS.with(|s| std::mem::take(&mut *s.borrow_mut()));
    drop(servers);
}

/// Proof that the response queue was applied at the start of the current call from JS
/// (`api/http.rs`): responses JS queued (`batch`) go into the engine before anything else the
/// call reads or changes, so calls on a connection take effect in JS order. Made only by
/// [`from_js`]; the engine's entry points for JS ([`for_js`], [`respond_to`]) take it, so a call
/// that forgets the queue does not compile.
pub struct FromJs(());

/// The first step of every engine call from JS: applies the queued responses.
pub fn from_js() -> FromJs {
    batch::drain();
    FromJs(())
}

/// [`with_server`] for a call from JS.
pub fn for_js<T>(_: &FromJs, srv: u32, f: impl FnOnce(&mut Server) -> T) -> Option<T> {
    with_server(srv, f)
}

/// Runs `f` with server `srv` (None when it is gone). The engine's own; JS goes through
/// [`for_js`].
fn with_server<T>(srv: u32, f: impl FnOnce(&mut Server) -> T) -> Option<T> {
    SERVERS.with(|s| s.borrow_mut().get_mut(srv as usize)?.as_mut().map(f))
}

/// The head of response `seq` on `conn` of server `srv` (see `http_respond` in `api/http.rs`,
/// and `batch.rs`, whose records are applied with it in queue order: that is the drain itself).
/// None: the server is gone; false: past the high-water mark, or the request is gone.
#[allow(clippy::too_many_arguments)]
pub fn respond_to(
    _: &FromJs,
    srv: u32,
    conn: u32,
    seq: u32,
    status: u32,
    reason: &str,
    headers: &[u8],
    flags: u32,
    body: Option<out::Body<'_>>,
    end: bool,
) -> Option<bool> {
    with_server(srv, |s| {
        let cx = respond::Ctx {
            keep_alive_secs: (!s.limits.keep_alive.is_zero())
                .then_some(s.limits.keep_alive.as_secs()),
            max_requests: s.limits.max_requests,
            force_close: s.closing,
        };
        let hwm = s.limits.hwm;
        let Some(c) = s.conns.get_mut(&conn) else {
            return false;
        };
        let r = c.respond(seq, status, reason, headers, flags, body, end, &cx, hwm);
        s.touch(conn);
        r
    })
}

/// Adds a server listening on `fd` (accepting from the next flush). Returns its id.
pub fn add_server(stream: u32, fd: i32, limits: Limits) -> u32 {
    let server = Server {
        stream,
        fd,
        limits,
        conns: Conns::default(),
        next_conn: 1,
        accept: Accept::Wanted,
        closing: false,
        listener_closed: false,
        referenced: true,
        dirty: Vec::new(),
    };
    PENDING.with(|p| p.set(true));
    SERVERS.with(|s| {
        let mut s = s.borrow_mut();
        s.push(Some(server));
        (s.len() - 1) as u32
    })
}

impl Server {
    /// The key of the armed accept.
    pub fn accept_key(&self) -> Option<u64> {
        match self.accept {
            Accept::Armed(k) => Some(k),
            _ => None,
        }
    }

    /// Marks `conn` for the next flush.
    pub fn touch(&mut self, conn: u32) {
        if let Some(c) = self.conns.get_mut(&conn) {
            if !c.dirty {
                c.dirty = true;
                self.dirty.push(conn);
            }
        }
        PENDING.with(|p| p.set(true));
    }

    /// Stops accepting (the listener closes once its accept ended); idle connections close.
    /// The address is free at once: the armed accept holds the listening socket until its
    /// cancel completes, so the socket stops listening now (`shutdown(SHUT_RD)`), and a new
    /// server may listen on the same port in the same tick (as with node:http, whose close
    /// closes the descriptor at once).
    pub fn close(&mut self) {
        if !self.closing && !self.listener_closed {
            // SAFETY: shutdown takes no pointers; the descriptor is the server's, still open
            // (it closes only after `closing` is set, in a later flush). A failure changes
            // nothing that the close below does not.
            unsafe { libc::shutdown(self.fd, libc::SHUT_RD) };
        }
        self.closing = true;
        let idle: Vec<u32> = self
            .conns
            .iter()
            .filter(|(_, c)| c.idle())
            .map(|(k, _)| *k)
            .collect();
        for k in idle {
            if let Some(c) = self.conns.get_mut(&k) {
                c.die(w::ERR_NONE, 0);
            }
            self.touch(k);
        }
        PENDING.with(|p| p.set(true));
    }

    /// Closes timed-out connections (headersTimeout, requestTimeout, keepAliveTimeout).
    pub fn sweep(&mut self) {
        let now = Instant::now();
        let l = &self.limits;
        let mut touched = Vec::new();
        for (k, c) in self.conns.iter_mut() {
            if c.dying.is_some() {
                continue;
            }
            if let Some(t) = c.req_started {
                let age = now.saturating_duration_since(t);
                // A head under way, or none yet on a new connection (timed from its accept).
                let head = c.parser.in_head() || c.parser.idle();
                if (head && age > l.headers_timeout) || age > l.request_timeout {
                    c.fail(w::ERR_REQUEST_TIMEOUT);
                    touched.push(*k);
                }
            } else if c.pipe.slots.is_empty()
                && c.sending == 0
                && c.out.is_empty()
                && now.saturating_duration_since(c.idle_since) > l.keep_alive
            {
                c.die(c.close_err, 0);
                touched.push(*k);
            }
        }
        for k in touched {
            self.touch(k);
        }
    }

    /// Pushes what the server and its dirty connections need.
    fn flush(&mut self, srv: u32, rt_unref: &mut Vec<u64>, d: &mut Driver<dyn NodeOp>) {
        match self.accept {
            Accept::Wanted if !self.closing => {
                let op = crate::ops::AcceptStream::with_sink(self.fd, HttpAccept { srv });
                if let Ok(k) = d.push(op, 0) {
                    self.accept = Accept::Armed(k.as_u64());
                    if !self.referenced {
                        rt_unref.push(k.as_u64());
                    }
                }
            }
            Accept::Armed(k) if self.closing => {
                let _ = d.cancel(boros::OpKey::from_u64(k));
                self.accept = Accept::Stopped;
            }
            _ => {}
        }
        if self.closing && !self.listener_closed && !matches!(self.accept, Accept::Armed(_)) {
            // The accept is cancelled or ended; its final CQE may still come (the sink finds
            // `closing` and closes any descriptor it brings).
            self.listener_closed = true;
            // Connection id 0 is never used: its close reports nothing.
            let _ = d.push(HttpOp::new(op::Close::new(self.fd), srv, 0, on_closed), 0);
        }
        let mut again = Vec::new();
        // The dirty list is handed back (emptied) after the loop, so its capacity is kept.
        let mut dirty = std::mem::take(&mut self.dirty);
        for &id in &dirty {
            if let Some(c) = self.conns.get_mut(&id) {
                c.dirty = false;
                if self.closing && c.idle() {
                    c.die(c.close_err, 0);
                }
                c.step_file(d, srv, id, self.limits.hwm);
                if c.step(d, srv, id) {
                    again.push(id);
                }
            }
        }
        dirty.clear();
        if self.dirty.is_empty() {
            self.dirty = dirty;
        }
        for id in again {
            self.touch(id);
        }
    }
}

/// Called by the runtime before it submits: pushes what the servers need. Returns keys of ops
/// that must not keep the loop alive (an unref'd server's accept).
pub fn flush(d: &mut Driver<dyn NodeOp>) -> Vec<u64> {
    let mut unref = Vec::new();
    batch::drain();
    turn::next();
    if !PENDING.with(|p| p.replace(false)) {
        return unref;
    }
    SERVERS.with(|s| {
        for (i, srv) in s.borrow_mut().iter_mut().enumerate() {
            if let Some(srv) = srv {
                srv.flush(i as u32, &mut unref, d);
            }
        }
    });
    unref
}

fn with_conn(srv: u32, id: u32, f: impl FnOnce(&mut Conn, u32, &Limits)) {
    SERVERS.with(|s| {
        let mut s = s.borrow_mut();
        let Some(Some(server)) = s.get_mut(srv as usize) else {
            return;
        };
        let Server {
            conns,
            stream,
            limits,
            dirty,
            ..
        } = server;
        let Some(c) = conns.get_mut(&id) else {
            return;
        };
        f(c, *stream, limits);
        if !c.dirty {
            c.dirty = true;
            dirty.push(id);
        }
        PENDING.with(|p| p.set(true));
    });
}

/// A send of one piece finished: the rest of a short send goes next; drain when below the mark.
pub fn on_sent(cx: &mut JsBatch<'_>, srv: u32, id: u32, result: i32, op: op::Send<out::Piece>) {
    sent(cx, srv, id, result, std::iter::once(op.into_buf()));
}

/// A `sendmsg` of several pieces finished (see [`on_sent`]).
pub fn on_sentv(cx: &mut JsBatch<'_>, srv: u32, id: u32, result: i32, op: op::SendMsg<out::Piece>) {
    sent(cx, srv, id, result, op.into_bufs());
}

fn sent(
    cx: &mut JsBatch<'_>,
    srv: u32,
    id: u32,
    result: i32,
    pieces: impl IntoIterator<Item = out::Piece>,
) {
    with_conn(srv, id, |c, stream, lim| {
        c.sending = 0;
        if result < 0 {
            c.die(w::ERR_ERRNO, result);
            return;
        }
        if let Some(spare) = out::unsent(pieces, result as usize, &mut c.queued) {
            if spare.capacity() > c.spare.capacity() {
                c.spare = spare;
            }
        }
        drain_if_below(c, cx, stream, id, lim);
    });
}

/// After a send: tells JS of a drain it waits for once the connection is below the mark.
fn drain_if_below(c: &mut Conn, cx: &mut JsBatch<'_>, stream: u32, id: u32, lim: &Limits) {
    if c.drain_wanted && c.pending_bytes() < lim.hwm {
        c.drain_wanted = false;
        cx.event_with(stream, |b| record::words(b, &[w::REC_DRAIN as u32, id]));
    }
}

/// Runs `f` on every connection of every server of this thread (each marked for the flush).
fn for_each_conn(mut f: impl FnMut(&mut Conn)) {
    SERVERS.with(|s| {
        for srv in s.borrow_mut().iter_mut().flatten() {
            let ids: Vec<u32> = srv.conns.keys().copied().collect();
            for id in ids {
                if let Some(c) = srv.conns.get_mut(&id) {
                    f(c);
                }
                srv.touch(id);
            }
        }
    });
}

/// The write side was shut after the last response.
pub fn on_shut(_cx: &mut JsBatch<'_>, srv: u32, id: u32, _result: i32, _op: op::Shutdown) {
    with_conn(srv, id, |c, _, _| {
        c.shut_done = true;
        if c.peer_ended || c.errored || c.recv == Recv::Idle {
            c.die(c.close_err, 0);
        }
    });
}

/// The connection's descriptor is closed: its close record is its last.
pub fn on_closed(cx: &mut JsBatch<'_>, srv: u32, id: u32, _result: i32, _op: op::Close) {
    with_server(srv, |s| {
        if let Some(c) = s.conns.remove(&id) {
            let (kind, errno) = c.dying.unwrap_or((w::ERR_NONE, 0));
            let words = [w::REC_CLOSE as u32, id, kind as u32, errno as u32];
            cx.event_with(s.stream, |b| record::words(b, &words));
        }
    });
}

/// Takes connection `id` out of the engine (an upgrade): its descriptor, or -1.
pub fn detach(s: &mut Server, id: u32) -> i32 {
    let Some(c) = s.conns.get(&id) else {
        return -1;
    };
    if c.recv != Recv::Idle
        || c.sending != 0
        || c.files != 0
        || c.close_pushed
        || !c.parser.upgraded()
    {
        return -1;
    }
    s.conns.remove(&id).map_or(-1, |c| c.fd)
}
