//! The records the engine hands JS (one per stream event; layout in `wire::http`): `u32`
//! words, then bytes, padded to 4 so the next record's words are aligned.

use super::parse::Head;
use crate::wire::http as w;
use httparse::Header;

fn word(buf: &mut Vec<u8>, v: u32) {
    buf.extend_from_slice(&v.to_le_bytes());
}

fn pad(buf: &mut Vec<u8>) {
    while buf.len() % 4 != 0 {
        buf.push(0);
    }
}

/// A request head, its body inline when it came whole (not padded: see [`pad_end`]).
pub fn request(buf: &mut Vec<u8>, conn: u32, seq: u32, h: &Head<'_>) {
    let mut flags = 0;
    for (on, bit) in [
        (h.v11, w::REQ_V11),
        (h.keep_alive, w::REQ_KEEP_ALIVE),
        (h.upgrade, w::REQ_UPGRADE),
        (h.expect_continue, w::REQ_EXPECT_CONTINUE),
        (h.streaming, w::REQ_STREAMING),
        (h.body.is_some(), w::REQ_HAS_BODY),
    ] {
        if on {
            flags |= bit as u32;
        }
    }
    if h.method_index < 1 << (32 - w::REQ_METHOD_SHIFT) {
        flags |= h.method_index << (w::REQ_METHOD_SHIFT as u32);
    }
    let body = h.body.unwrap_or(&[]);
    for v in [
        w::REC_REQUEST as u32,
        conn,
        seq,
        flags,
        h.method.len() as u32,
        h.url.len() as u32,
        h.headers.len() as u32,
        body.len() as u32,
    ] {
        word(buf, v);
    }
    for hd in h.headers {
        word(buf, hd.name.len() as u32);
        word(buf, hd.value.len() as u32);
    }
    buf.extend_from_slice(h.method.as_bytes());
    buf.extend_from_slice(h.url.as_bytes());
    for hd in h.headers {
        buf.extend_from_slice(hd.name.as_bytes());
        buf.extend_from_slice(hd.value);
    }
    buf.extend_from_slice(body);
}

/// Pads a record to 4 bytes.
pub fn pad_end(buf: &mut Vec<u8>) {
    pad(buf);
}

/// Appends `body` to a finished request record (an upgrade's buffered bytes).
pub fn append_body(rec: &mut Vec<u8>, body: &[u8]) {
    let n = u32::from_le_bytes([rec[28], rec[29], rec[30], rec[31]]) as usize + body.len();
    rec[28..32].copy_from_slice(&(n as u32).to_le_bytes());
    let flags = u32::from_le_bytes([rec[12], rec[13], rec[14], rec[15]]) | w::REQ_HAS_BODY as u32;
    rec[12..16].copy_from_slice(&flags.to_le_bytes());
    rec.extend_from_slice(body);
    pad(rec);
}

/// A body chunk of request `seq`.
pub fn body(buf: &mut Vec<u8>, conn: u32, seq: u32, data: &[u8]) {
    for v in [w::REC_BODY as u32, conn, seq, data.len() as u32] {
        word(buf, v);
    }
    buf.extend_from_slice(data);
    pad(buf);
}

/// The end of request `seq`'s body, with its trailer fields (a chunked body's; flat name and
/// value lengths, then their bytes, as a request record's headers).
pub fn body_end(buf: &mut Vec<u8>, conn: u32, seq: u32, trailers: &[Header<'_>]) {
    for v in [w::REC_BODY_END as u32, conn, seq, trailers.len() as u32] {
        word(buf, v);
    }
    for t in trailers {
        word(buf, t.name.len() as u32);
        word(buf, t.value.len() as u32);
    }
    for t in trailers {
        buf.extend_from_slice(t.name.as_bytes());
        buf.extend_from_slice(t.value);
    }
    pad(buf);
}

/// A record of words only (close, drain, file done).
pub fn words(buf: &mut Vec<u8>, words: &[u32]) {
    for &v in words {
        word(buf, v);
    }
}
