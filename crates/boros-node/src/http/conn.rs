//! One connection of the engine: its parser, its responses in request order, its output
//! buffer (one send in flight at a time), and the ops it has in the ring. [`Conn::step`] is
//! the only place its ops are pushed (from the runtime's flush, see `super::flush`). Writing
//! its responses (`respond`, `write`, their bodies) is `conn_write.rs`.

use super::out::{Piece, MAX_IOV};
use super::parse::{Event, ParseLimits, Parser};
use super::record;
use super::respond::{Pipeline, ReqInfo, Resp};
use crate::complete::{JsBatch, NodeOp};
use crate::ops::HttpOp;
use crate::wire::http as w;
use boros::op;
use boros::Driver;
use std::collections::VecDeque;
use std::time::Instant;

/// The connection's receive op.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Recv {
    Idle,
    Armed(u64),
    Cancelling,
}

pub struct Conn {
    pub fd: i32,
    pub parser: Parser,
    pub pipe: Pipeline,
    pub next_seq: u32,
    pub served: u32,
    /// Bytes for the next send (after `queued`).
    pub out: Vec<u8>,
    /// Unsent pieces that go before `out`: the rest of a short send, lent JS bodies and the
    /// bytes before them, file bytes read on the ring.
    pub queued: VecDeque<Piece>,
    /// The buffer of the last finished send, kept for its capacity.
    pub spare: Vec<u8>,
    /// Bytes of the send in flight (0: none).
    pub sending: usize,
    /// Zero-copy sends whose notification has not come yet (`zc.rs`).
    pub zc_pending: u32,
    /// The kernel copied a zero-copy send of this connection (loopback): plain sends from now.
    pub zc_copied: bool,
    pub recv: Recv,
    pub paused: bool,
    pub peer_ended: bool,
    /// No more requests: close once every response is out.
    pub finishing: bool,
    /// A protocol error or timeout: the responses of JS are not wanted any more.
    pub errored: bool,
    pub shut_sent: bool,
    /// Closing: the error kind and errno the close record carries.
    pub dying: Option<(i64, i32)>,
    /// What the close record will carry when the connection ends after finishing.
    pub close_err: i64,
    pub shut_done: bool,
    pub close_pushed: bool,
    /// What the close does with a send in flight: waits for it, or cancels it (a destroy).
    pub sends_at_close: SendsAtClose,
    /// An upgrade request's record, delivered once the receive has stopped.
    pub upgrade: Option<Vec<u8>>,
    /// The request being received started then (timeouts); for a new connection, its
    /// accept.
    pub req_started: Option<Instant>,
    pub idle_since: Instant,
    pub drain_wanted: bool,
    /// File reads in flight (`sendFile`).
    pub files: u32,
    /// The file being sent as a response body (`sendFile`).
    pub file: Option<super::file::FileJob>,
    /// A protocol error found after requests of the same receive: answered once JS has had
    /// those requests (the delivery count then), as node:http, whose handlers run as the
    /// parser reaches each head, answers them before it meets the error.
    pub deferred: Option<(i64, u64)>,
    /// The peer's EOF came while requests were unanswered (the loop turn then): on the next
    /// turn those still unanswered are aborted ([`abort_unanswered`](Self::abort_unanswered)).
    /// libuv reads until a short read and sees the EOF on the next turn's poll phase, so
    /// node:http's handlers have answered by then whatever they answered at once, in a
    /// `setImmediate` or in a timer due by then; node aborts the rest.
    pub eof_at: Option<u64>,
    /// The receive being parsed brought a request.
    fresh: bool,
    pub dirty: bool,
}

impl Conn {
    pub fn new(fd: i32) -> Self {
        Self {
            fd,
            parser: Parser::default(),
            pipe: Pipeline::default(),
            next_seq: 0,
            served: 0,
            out: Vec::new(),
            spare: Vec::new(),
            sending: 0,
            zc_pending: 0,
            zc_copied: false,
            queued: VecDeque::new(),
            recv: Recv::Idle,
            paused: false,
            peer_ended: false,
            finishing: false,
            errored: false,
            shut_sent: false,
            dying: None,
            close_err: w::ERR_NONE,
            shut_done: false,
            close_pushed: false,
            sends_at_close: SendsAtClose::Finish,
            upgrade: None,
            // As node:http's: a new connection's first head is timed from the accept
            // (`headersTimeout`, answered 408), not as an idle keep-alive connection.
            req_started: Some(super::turn::now()),
            idle_since: super::turn::now(),
            drain_wanted: false,
            files: 0,
            file: None,
            deferred: None,
            eof_at: None,
            fresh: false,
            dirty: false,
        }
    }

    /// Unsent bytes of the response going out (and of those before it): what backpressure and
    /// drains count. Bytes held for later pipelined responses do not count here: they wait for
    /// the one going out, which must be able to drain while they wait.
    pub fn pending_bytes(&self) -> usize {
        self.out.len() + self.sending + self.queued.iter().map(Piece::len).sum::<usize>()
    }

    /// Nothing is being answered or sent.
    pub fn idle(&self) -> bool {
        self.pipe.slots.is_empty()
            && self.out.is_empty()
            && self.queued.is_empty()
            && self.sending == 0
            && self.parser.idle()
    }

    /// Closes the connection (once its ops are done), reporting `kind`/`errno`.
    /// A close that does not wait for the bytes in flight (`req.socket.destroy()`,
    /// `closeAllConnections()`), as node:net's destroy, which cancels a stream's pending
    /// writes: nothing more is sent, and [`step`](Self::step) cancels a send or a file body's
    /// splice still in flight. A peer that stopped reading left those waiting for room for
    /// good, and the close waited for them: the server and the process never went idle.
    pub fn destroy(&mut self) {
        self.destroy_with(w::ERR_NONE);
    }

    /// [`destroy`](Self::destroy), the close reporting `kind`.
    fn destroy_with(&mut self, kind: i64) {
        self.out.clear();
        self.queued.clear();
        if self.sends_at_close == SendsAtClose::Finish {
            self.sends_at_close = SendsAtClose::Cancel;
        }
        self.die(kind, 0);
    }

    pub fn die(&mut self, kind: i64, errno: i32) {
        if self.dying.is_none() {
            self.dying = Some((kind, errno));
        }
    }

    /// A protocol error or timeout: answer it as node:http's default `clientError` does (if
    /// no response has started going out), drop what JS would still answer, close after.
    pub fn fail(&mut self, kind: i64) {
        if self.errored || self.dying.is_some() {
            return;
        }
        // node:http writes its answer only while the socket is writable and no response has
        // started (`!socket._httpMessage._headerSent`; a response stays the socket's until its
        // bytes are out): not after the response that closes the connection.
        let started = self.pipe.slots.front().is_some_and(|r| r.started)
            || !self.out.is_empty()
            || self.sending > 0
            || !self.queued.is_empty()
            || self.shut_sent
            || (self.finishing && self.pipe.slots.is_empty());
        self.pipe.front = self.pipe.front.wrapping_add(self.pipe.slots.len() as u32);
        self.pipe.slots.clear();
        if !started {
            self.out.extend_from_slice(match kind {
                w::ERR_HEADER_OVERFLOW => {
                    b"HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n"
                        as &[u8]
                }
                w::ERR_BODY_TOO_LARGE => {
                    b"HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\n\r\n"
                }
                w::ERR_REQUEST_TIMEOUT => {
                    b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n"
                }
                _ => b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n",
            });
        }
        self.parser.kill();
        self.errored = true;
        self.finishing = true;
        self.close_err = kind;
    }

    /// The peer went away (EOF) with requests unanswered. node:http's default
    /// (`httpAllowHalfOpen` false: `abortIncoming`, then `socket.end()`): what was already
    /// written goes out (a finished response, the part of the one going out), then the FIN
    /// and the close; the responses not finished are dropped (JS's later writes to them are
    /// ignored), and the close tells JS `aborted` (`ECONNRESET`), so their requests abort.
    pub fn abort_unanswered(&mut self) {
        self.finishing = true;
        if self.errored || self.dying.is_some() || self.pipe.slots.is_empty() {
            return;
        }
        self.pipe.front = self.pipe.front.wrapping_add(self.pipe.slots.len() as u32);
        self.pipe.slots.clear();
        self.close_err = w::ERR_ABORTED;
        if self.file.is_some() {
            // A file body going out (its response is among those dropped): in node the file
            // stream's next write after `socket.end()` fails and destroys the socket. So the
            // file is read no more and the connection is destroyed: a read in flight ends the
            // job (`ECONNRESET`) and the close follows it. Left waiting for the bytes queued
            // ahead, a peer that stopped reading held the file and the connection for good.
            self.destroy_with(w::ERR_ABORTED);
        }
    }

    /// Pushes what the connection needs now: the close, a send, the shutdown after the last
    /// response, the receive (armed or cancelled). Returns true when it must be stepped again
    /// after JS has had the current batch (a deferred protocol error, an EOF with requests
    /// unanswered).
    pub fn step(&mut self, d: &mut Driver<dyn NodeOp>, srv: u32, id: u32) -> bool {
        if let Some((kind, at)) = self.deferred {
            if super::deliveries() == at && self.dying.is_none() {
                return true;
            }
            self.deferred = None;
            self.fail(kind);
        }
        if let Some(at) = self.eof_at {
            if super::loop_turn() == at && self.dying.is_none() {
                return true;
            }
            self.eof_at = None;
            self.abort_unanswered();
        }
        if self.dying.is_some() {
            if let Recv::Armed(k) = self.recv {
                let _ = d.cancel(boros::OpKey::from_u64(k));
                self.recv = Recv::Cancelling;
            }
            if self.sends_at_close == SendsAtClose::Cancel && (self.sending > 0 || self.files > 0) {
                // Every op on the socket (the receive's cancel is already on its way); a
                // zero-copy send's notification comes only once the peer acknowledged the
                // bytes, so that connection is reset (`zc.rs`).
                super::zc::reset_if_pending(self);
                if d.cancel_fd(self.fd).is_ok() {
                    self.sends_at_close = SendsAtClose::Cancelled;
                }
            }
            let shutting = self.shut_sent && !self.shut_done;
            if self.recv == Recv::Idle
                && self.sending == 0
                && self.files == 0
                && !shutting
                && !self.close_pushed
            {
                let op = HttpOp::new(op::Close::new(self.fd), srv, id, super::on_closed);
                if d.push(op, 0).is_ok() {
                    self.close_pushed = true;
                }
            }
            return false;
        }
        if self.sending == 0 && !(self.queued.is_empty() && self.out.is_empty()) {
            if !self.out.is_empty() {
                let mut b = std::mem::take(&mut self.spare);
                b.clear();
                std::mem::swap(&mut b, &mut self.out);
                self.queued.push_back(Piece::own(b));
            }
            let n = self.queued.len().min(MAX_IOV);
            let zc_ok = d
                .info()
                .support
                .has(boros::io_uring::opcode::SendMsgZc::CODE);
            let pushed = if super::zc::wanted(self, n, zc_ok) {
                // A large body among the pieces: one zero-copy send of them all.
                let pieces: Vec<Piece> = self.queued.drain(..n).collect();
                self.sending = pieces.iter().map(Piece::len).sum();
                let r = d.push(super::zc::op(self.fd, pieces, srv, id), 0);
                if r.is_ok() {
                    super::zc::pushed(self);
                }
                r
            } else if n == 1 {
                // One piece (a response's head and small body): no vector of pieces.
                let p = self.queued.pop_front().expect("one piece");
                self.sending = p.len();
                d.push(
                    HttpOp::new(op::Send::new(self.fd, p), srv, id, super::on_sent),
                    0,
                )
            } else {
                let pieces: Vec<Piece> = self.queued.drain(..n).collect();
                self.sending = pieces.iter().map(Piece::len).sum();
                d.push(
                    HttpOp::new(op::SendMsg::new(self.fd, pieces), srv, id, super::on_sentv),
                    0,
                )
            };
            if pushed.is_err() {
                self.sending = 0;
                self.die(w::ERR_ERRNO, -libc::EBUSY);
                return false;
            }
        } else if self.sending == 0
            && self.finishing
            && self.pipe.slots.is_empty()
            && self.files == 0
            && !self.shut_sent
        {
            self.shut_sent = true;
            let op = HttpOp::new(
                op::Shutdown::new(self.fd, libc::SHUT_WR),
                srv,
                id,
                super::on_shut,
            );
            if d.push(op, 0).is_err() {
                self.die(self.close_err, 0);
            }
        }
        let want = !self.paused && !self.peer_ended && !self.parser.upgraded();
        match (want, self.recv) {
            (true, Recv::Idle) => {
                let ring = match crate::recv_group::recv_ring(d) {
                    Ok(r) => r,
                    Err(_) => {
                        self.die(w::ERR_ERRNO, -libc::ENOBUFS);
                        return false;
                    }
                };
                let op = crate::ops::RecvStream::with_sink(
                    self.fd,
                    ring,
                    super::HttpRecv { srv, conn: id },
                );
                match d.push(op, 0) {
                    Ok(k) => self.recv = Recv::Armed(k.as_u64()),
                    Err(_) => self.die(w::ERR_ERRNO, -libc::EBUSY),
                }
            }
            (false, Recv::Armed(k)) => {
                let _ = d.cancel(boros::OpKey::from_u64(k));
                self.recv = Recv::Cancelling;
            }
            _ => {}
        }
        false
    }

    /// Bytes received: parsed, their records appended to the batch.
    pub fn feed(
        &mut self,
        bytes: &[u8],
        stream: u32,
        id: u32,
        lim: &super::Limits,
        cx: &mut JsBatch<'_>,
    ) {
        if self.parser.idle() && self.req_started.is_none() {
            self.req_started = Some(super::turn::now());
        }
        let plim = ParseLimits {
            max_header: lim.max_header,
            max_body: lim.max_body,
            methods: &lim.methods,
            content_length_tab: lim.content_length_tab,
            upgrades: lim.upgrades,
        };
        self.fresh = false;
        let mut parser = std::mem::take(&mut self.parser);
        parser.feed(bytes, plim, &mut |ev| {
            self.on_event(ev, stream, id, lim, cx)
        });
        self.parser = parser;
        if self.parser.idle() {
            self.req_started = None;
        }
    }

    fn on_event(
        &mut self,
        ev: Event<'_>,
        stream: u32,
        id: u32,
        lim: &super::Limits,
        cx: &mut JsBatch<'_>,
    ) {
        match ev {
            Event::Request(h) => {
                self.fresh = true;
                let seq = self.next_seq;
                self.next_seq = seq.wrapping_add(1);
                self.served += 1;
                let mut info = ReqInfo {
                    v11: h.v11,
                    keep_alive: h.keep_alive,
                    is_head: h.is_head,
                };
                if lim.max_requests > 0 && self.served >= lim.max_requests {
                    info.keep_alive = false;
                }
                if !info.keep_alive || h.upgrade {
                    self.finishing = true;
                }
                self.pipe.slots.push_back(Resp::new(info));
                if h.upgrade {
                    let mut rec = Vec::new();
                    record::request(&mut rec, id, seq, &h);
                    self.upgrade = Some(rec);
                } else {
                    cx.event_with(stream, |b| {
                        record::request(b, id, seq, &h);
                        record::pad_end(b);
                    });
                }
            }
            Event::Body(data) => {
                let seq = self.next_seq.wrapping_sub(1);
                cx.event_with(stream, |b| record::body(b, id, seq, data));
            }
            Event::BodyEnd(trailers) => {
                let seq = self.next_seq.wrapping_sub(1);
                cx.event_with(stream, |b| record::body_end(b, id, seq, trailers));
            }
            // Requests of this receive go to JS first (their handlers may answer at once).
            Event::Error(kind) if self.fresh => self.deferred = Some((kind, super::deliveries())),
            Event::Error(kind) => self.fail(kind),
        }
    }
}

/// What a connection's close does with a send (or a file body's splice) still in flight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendsAtClose {
    /// Waits for it: a graceful close (after the last response, a timeout, an error).
    Finish,
    /// Cancels it ([`Conn::destroy`]); the cancel is not pushed yet.
    Cancel,
    /// Its cancel is pushed; the close follows the last of their completions.
    Cancelled,
}
