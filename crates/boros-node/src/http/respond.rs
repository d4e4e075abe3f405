//! Responses: the status line, headers and framing node:http writes (`_storeHeader`), bodies
//! (fixed length, chunked, close-delimited; none for HEAD and 1xx/204/304), and the order of
//! pipelined responses. Bytes go into the connection's output buffer, sent once per turn.

use crate::wire::http as w;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::Write;
use std::time::SystemTime;

thread_local! {
    /// `Date: <http-date>\r\n`, and the second it was made for.
    static DATE: RefCell<(u64, Vec<u8>)> = const { RefCell::new((u64::MAX, Vec::new())) };
}

fn push_date(out: &mut Vec<u8>) {
    let now = super::turn::wall();
    let secs = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    DATE.with(|d| {
        let mut d = d.borrow_mut();
        if d.0 != secs {
            d.1.clear();
            let _ = write!(d.1, "Date: {}\r\n", httpdate::fmt_http_date(now));
            d.0 = secs;
        }
        out.extend_from_slice(&d.1);
    });
}

/// What a response needs to know of its request.
#[derive(Clone, Copy)]
pub struct ReqInfo {
    pub v11: bool,
    pub keep_alive: bool,
    pub is_head: bool,
}

/// One request's response slot, in request order.
pub struct Resp {
    pub req: ReqInfo,
    pub started: bool,
    pub ended: bool,
    pub chunked: bool,
    pub has_body: bool,
    /// The connection closes once this response is out.
    pub close: bool,
    /// Bytes written while an earlier response is still going out.
    pub held: Vec<u8>,
    /// Trailer lines (`name: value\r\n`...), sent in the last chunk of a chunked body
    /// (node's `addTrailers`; dropped otherwise, as node drops them).
    pub trailers: Vec<u8>,
}

impl Resp {
    pub fn new(req: ReqInfo) -> Self {
        Self {
            req,
            started: false,
            ended: false,
            chunked: false,
            has_body: true,
            close: !req.keep_alive,
            held: Vec::new(),
            trailers: Vec::new(),
        }
    }
}

/// How the connection and server see the response being made.
pub struct Ctx {
    /// `Keep-Alive: timeout=N` (none when keep-alive has no timeout).
    pub keep_alive_secs: Option<u64>,
    /// `maxRequestsPerSocket` (0: none): node:http adds `, max=N` to `Keep-Alive`.
    pub max_requests: u32,
    /// The server is closing or the connection's last allowed request: `Connection: close`.
    pub force_close: bool,
}

/// Writes the head of `r` (and decides its framing) into `out`.
#[allow(clippy::too_many_arguments)]
pub fn head(
    r: &mut Resp,
    status: u32,
    reason: &str,
    headers: &[u8],
    flags: u32,
    body_len: Option<usize>,
    end: bool,
    cx: &Ctx,
    out: &mut Vec<u8>,
) {
    let f = |bit: i64| flags & bit as u32 != 0;
    r.started = true;
    r.has_body = !(r.req.is_head || status == 204 || status == 304 || (100..200).contains(&status));
    out.extend_from_slice(b"HTTP/1.1 ");
    push_dec(out, status.into());
    out.push(b' ');
    out.extend_from_slice(reason.as_bytes());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(headers);
    if !f(w::H_DATE) && !f(w::RESPOND_NO_DATE) {
        push_date(out);
    }
    let keep = r.req.keep_alive && !cx.force_close && !f(w::RESPOND_CLOSE);
    let framed = f(w::H_CONTENT_LENGTH) || f(w::H_TRANSFER_ENCODING);
    let bodiless = status == 204 || status == 304 || (100..200).contains(&status);
    let auto_len = match body_len {
        Some(n) if f(w::RESPOND_KNOWN_LENGTH) && end && !framed && !bodiless => Some(n),
        _ => None,
    };
    let has_len = f(w::H_CONTENT_LENGTH) || auto_len.is_some();
    if f(w::H_CONNECTION) {
        r.close = f(w::H_CONN_CLOSE) || !keep;
    } else if keep && (has_len || r.req.v11) {
        out.extend_from_slice(b"Connection: keep-alive\r\n");
        if let Some(secs) = cx.keep_alive_secs {
            out.extend_from_slice(b"Keep-Alive: timeout=");
            push_dec(out, secs);
            if cx.max_requests > 0 {
                out.extend_from_slice(b", max=");
                push_dec(out, cx.max_requests.into());
            }
            out.extend_from_slice(b"\r\n");
        }
        r.close = false;
    } else {
        out.extend_from_slice(b"Connection: close\r\n");
        r.close = true;
    }
    if let Some(n) = auto_len {
        push_content_length(out, n);
    } else if !has_len && !f(w::H_TRANSFER_ENCODING) {
        if end && f(w::RESPOND_KNOWN_LENGTH) && !f(w::RESPOND_NO_FRAMING) && !bodiless {
            // Known to be empty (serve()'s `new Response(null)`): `Content-Length: 0`, on
            // HTTP/1.0 and for HEAD too, as Bun.serve and Deno.serve send it (auto_len took
            // every body).
            push_content_length(out, 0);
        } else if !r.has_body {
        } else if !r.req.v11 || f(w::RESPOND_NO_FRAMING) {
            // Close-delimited (node's `_last`).
            r.close = true;
        } else if end {
            // Ended at the head: the body is known, none included (node's `end()` with
            // nothing written: `_contentLength = 0`).
            push_content_length(out, body_len.unwrap_or(0));
        } else {
            out.extend_from_slice(b"Transfer-Encoding: chunked\r\n");
            r.chunked = true;
        }
    } else if f(w::H_TE_CHUNKED) && r.has_body {
        r.chunked = true;
    }
    out.extend_from_slice(b"\r\n");
}

/// Body bytes of `r` into `out` (chunk-framed when chunked; nothing when it has no body).
pub fn body(r: &Resp, data: &[u8], out: &mut Vec<u8>) {
    if !r.has_body || data.is_empty() {
        return;
    }
    if r.chunked {
        chunk_head(data.len(), out);
        out.extend_from_slice(data);
        out.extend_from_slice(b"\r\n");
    } else {
        out.extend_from_slice(data);
    }
}

/// The size line of a chunk of `n` bytes.
pub fn chunk_head(n: usize, out: &mut Vec<u8>) {
    let mut digits = [0u8; 16];
    let mut i = digits.len();
    let mut v = n;
    loop {
        i -= 1;
        digits[i] = b"0123456789abcdef"[v & 15];
        v >>= 4;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
    out.extend_from_slice(b"\r\n");
}

/// `n` in decimal (what `write!` did, without the formatting machinery: three numbers per
/// response were ~0.6% of a hello-world request's CPU).
pub fn push_dec(out: &mut Vec<u8>, n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut v = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

fn push_content_length(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(b"Content-Length: ");
    push_dec(out, n as u64);
    out.extend_from_slice(b"\r\n");
}

/// The end of `r`'s body.
pub fn end(r: &mut Resp, out: &mut Vec<u8>) {
    r.ended = true;
    if r.chunked && r.has_body {
        out.extend_from_slice(b"0\r\n");
        out.extend_from_slice(&r.trailers);
        out.extend_from_slice(b"\r\n");
    }
}

/// The responses of a connection's outstanding requests, oldest (the one going out) first.
#[derive(Default)]
pub struct Pipeline {
    /// Sequence number of `slots[0]`.
    pub front: u32,
    pub slots: VecDeque<Resp>,
}

impl Pipeline {
    pub fn get(&mut self, seq: u32) -> Option<(&mut Resp, bool)> {
        let i = seq.wrapping_sub(self.front) as usize;
        self.slots.get_mut(i).map(|r| (r, i == 0))
    }

    /// Pops finished responses from the front, moving the held bytes of the next ones into
    /// `out`. Returns whether a finished response asked for the connection to close.
    pub fn advance(&mut self, out: &mut Vec<u8>) -> bool {
        let mut close = false;
        while let Some(r) = self.slots.front_mut() {
            if !r.held.is_empty() {
                out.append(&mut r.held);
            }
            if !r.ended {
                break;
            }
            close |= r.close;
            self.slots.pop_front();
            self.front = self.front.wrapping_add(1);
            if close {
                break;
            }
        }
        close
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_as_write_made_them() {
        for n in [0u64, 1, 9, 10, 13, 99, 100, 65_536, 1 << 40, u64::MAX] {
            let mut out = Vec::new();
            push_dec(&mut out, n);
            assert_eq!(out, n.to_string().into_bytes());
        }
        for n in [0usize, 1, 15, 16, 255, 4096, 65_535, usize::MAX] {
            let mut out = Vec::new();
            chunk_head(n, &mut out);
            assert_eq!(out, format!("{n:x}\r\n").into_bytes());
        }
    }
}
