//! The engine's two multishot sinks: [`HttpAccept`] sets each accepted connection up (a
//! [`Conn`], `TCP_NODELAY`) without telling JS; [`HttpRecv`] feeds a connection's received
//! bytes to its parser and turns the receive's end (peer EOF, re-arm, error) into the
//! connection's next state.

use super::conn::{Conn, Recv};
use super::{record, with_conn, with_server, Accept, PENDING};
use crate::complete::JsBatch;
use crate::ops::accept_stream::AcceptSink;
use crate::ops::recv_stream::RecvSink;
use crate::wire::{http as w, EVENT_REARM};

/// The accept sink: new connections get `TCP_NODELAY` and a [`Conn`].
pub struct HttpAccept {
    pub(super) srv: u32,
}

impl AcceptSink for HttpAccept {
    fn accepted(&mut self, result: i32, cx: &mut JsBatch<'_>) {
        let srv = self.srv;
        let stray = with_server(srv, |s| {
            if result >= 0 {
                if s.closing {
                    return true;
                }
                let _ = boros::net::setsockopt_int(result, libc::IPPROTO_TCP, libc::TCP_NODELAY, 1);
                let id = s.next_conn;
                s.next_conn = s.next_conn.wrapping_add(1).max(1);
                s.conns.insert(id, Conn::new(result));
                s.touch(id);
            } else if result == EVENT_REARM {
                s.accept = if s.closing {
                    Accept::Stopped
                } else {
                    Accept::Wanted
                };
                PENDING.with(|p| p.set(true));
            } else {
                s.accept = Accept::Stopped;
                // Once closing, the accept ends by its cancel (`ECANCELED`) or, as the close
                // stopped the socket listening first (`Server::close`), with `EINVAL`: the
                // end JS asked for, not an error.
                if result != -libc::ECANCELED && !s.closing {
                    cx.event(s.stream, result);
                }
                PENDING.with(|p| p.set(true));
            }
            false
        });
        if result >= 0 && stray != Some(false) {
            // SAFETY: a descriptor the kernel just gave us that nobody else knows.
            unsafe { libc::close(result) };
        }
    }
}

/// The receive sink of a connection.
pub struct HttpRecv {
    pub srv: u32,
    pub conn: u32,
}

impl RecvSink for HttpRecv {
    fn bytes(&mut self, bytes: &[u8], cx: &mut JsBatch<'_>) {
        let id = self.conn;
        with_conn(self.srv, id, |c, stream, lim| {
            c.feed(bytes, stream, id, lim, cx)
        });
    }

    fn status(&mut self, result: i32, cx: &mut JsBatch<'_>) {
        let id = self.conn;
        with_conn(self.srv, id, |c, stream, _| {
            if result == 0 || result == EVENT_REARM || result == -libc::ECANCELED {
                if result == 0 {
                    c.peer_ended = true;
                    if c.parser.mid_request() && !c.errored && !c.shut_sent {
                        // Inside a request (head or body): it can never complete. node:http's
                        // parser.finish() fails the same way: 400 if nothing was answered yet,
                        // then the close (after the shutdown, `on_shut`); the request's JS side
                        // learns it from the close.
                        c.fail(w::ERR_INVALID_EOF_STATE);
                    } else if c.shut_sent || c.errored || c.idle() {
                        c.die(c.close_err, 0);
                    } else if c.pipe.slots.is_empty() {
                        // Every request answered, bytes still to send: they go out, then the
                        // FIN and the close (node's `socket.end()`).
                        c.finishing = true;
                    } else {
                        // Requests unanswered: those still unanswered on the loop's next
                        // turn are aborted (`Conn::eof_at`).
                        c.finishing = true;
                        c.eof_at = Some(super::loop_turn());
                    }
                }
            } else {
                c.die(w::ERR_ERRNO, result);
            }
            c.recv = Recv::Idle;
            if let Some(mut rec) = c.upgrade.take() {
                let head = c.parser.take_upgrade_head();
                record::append_body(&mut rec, &head);
                cx.event_with(stream, |b| b.extend_from_slice(&rec));
            }
        });
    }
}
