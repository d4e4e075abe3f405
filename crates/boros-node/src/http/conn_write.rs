//! Writing a connection's responses: heads, bodies and ends into its output (or held for a
//! pipelined response that is not at the front yet), in request order. What leaves when is
//! `conn.rs`'s ([`Conn::step`]); the bytes of a response are made in `respond.rs`.

use super::conn::Conn;
use super::out::{self, Body, Mem, Piece};
use super::respond;
use std::collections::VecDeque;

impl Conn {
    /// The head of response `seq` (and maybe body and end). Returns false past the
    /// high-water mark.
    #[allow(clippy::too_many_arguments)]
    pub fn respond(
        &mut self,
        seq: u32,
        status: u32,
        reason: &str,
        headers: &[u8],
        flags: u32,
        body: Option<Body>,
        end: bool,
        cx: &respond::Ctx,
        hwm: usize,
    ) -> bool {
        if self.errored || self.dying.is_some() {
            return false;
        }
        let Some((r, front)) = self.pipe.get(seq) else {
            return false;
        };
        if r.started {
            return false;
        }
        let mut held = std::mem::take(&mut r.held);
        let out = if front { &mut self.out } else { &mut held };
        respond::head(
            r,
            status,
            reason,
            headers,
            flags,
            body.as_ref().map(Body::len),
            end,
            cx,
            out,
        );
        if let Some(b) = body {
            let queued = if front { Some(&mut self.queued) } else { None };
            put_body(r, b, out, queued, &mut self.spare);
        }
        if end {
            respond::end(r, out);
        }
        let mine = held.len();
        r.held = held;
        self.after_write(end && front);
        self.pending_bytes() + mine < hwm
    }

    /// More body for response `seq`.
    pub fn write(&mut self, seq: u32, data: Body, end: bool, hwm: usize) -> bool {
        if self.errored || self.dying.is_some() {
            return false;
        }
        let Some((r, front)) = self.pipe.get(seq) else {
            return false;
        };
        if !r.started || r.ended || self.file.as_ref().is_some_and(|f| f.seq == seq) {
            return false;
        }
        let mut held = std::mem::take(&mut r.held);
        let out = if front { &mut self.out } else { &mut held };
        let queued = if front { Some(&mut self.queued) } else { None };
        put_body(r, data, out, queued, &mut self.spare);
        if end {
            respond::end(r, out);
        }
        let mine = held.len();
        r.held = held;
        self.after_write(end && front);
        self.pending_bytes() + mine < hwm
    }

    /// The trailer lines of response `seq` (sent at its end if its body is chunked).
    pub fn set_trailers(&mut self, seq: u32, lines: &[u8]) {
        if let Some((r, _)) = self.pipe.get(seq) {
            if !r.ended {
                r.trailers.clear();
                r.trailers.extend_from_slice(lines);
            }
        }
    }

    /// Bytes written for the response at the front: when it ended, the next ones follow.
    pub fn after_write(&mut self, front_ended: bool) {
        if front_ended && self.pipe.advance(&mut self.out) {
            // A response that closes the connection: nothing after it is answered.
            self.finishing = true;
            self.parser.kill();
            self.pipe.front = self.pipe.front.wrapping_add(self.pipe.slots.len() as u32);
            self.pipe.slots.clear();
        }
        if self.pipe.slots.is_empty() {
            self.idle_since = super::turn::now();
        }
    }

    /// `100 Continue` for the newest request, ahead of its response.
    pub fn continue_(&mut self) {
        if self.errored || self.dying.is_some() {
            return;
        }
        let seq = self.next_seq.wrapping_sub(1);
        if let Some((r, front)) = self.pipe.get(seq) {
            if r.started {
                return;
            }
            let out = if front { &mut self.out } else { &mut r.held };
            out.extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
        }
    }
}

/// Body bytes of `r`: copied into `out`, or (a lent JS body or a held body of the response
/// going out now, `queued` given) queued after the bytes before it, to be sent from where they
/// are.
fn put_body(
    r: &respond::Resp,
    body: Body,
    out: &mut Vec<u8>,
    queued: Option<&mut VecDeque<Piece>>,
    spare: &mut Vec<u8>,
) {
    let piece = match body {
        Body::Lent(buf) if buf.len() > 0 => Piece::js(buf),
        Body::Held(v) if !v.is_empty() => Piece::held(v),
        Body::Held(v) => return out::give(v),
        b => return respond::body(r, b.bytes(), out),
    };
    let Some(queued) = queued.filter(|_| r.has_body) else {
        respond::body(r, piece_bytes(&piece), out);
        if let Mem::Held(v) = piece.mem {
            out::give(v);
        }
        return;
    };
    let n = piece.len();
    if r.chunked {
        respond::chunk_head(n, out);
    }
    if !out.is_empty() {
        let mut next = std::mem::take(spare);
        next.clear();
        queued.push_back(Piece::own(std::mem::replace(out, next)));
    }
    queued.push_back(piece);
    if r.chunked {
        out.extend_from_slice(b"\r\n");
    }
}

/// The bytes of a piece not yet sent (its memory is alive while the piece is).
fn piece_bytes(p: &Piece) -> &[u8] {
    use boros::buf::IoBuf;
    // SAFETY: `stable_ptr` points at `bytes_init` bytes kept alive by the piece.
    unsafe { std::slice::from_raw_parts(p.stable_ptr(), p.bytes_init()) }
}
