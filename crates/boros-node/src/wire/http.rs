//! The HTTP engine's protocol (`crate::http`, `src-ts/http/engine.ts`): the records it hands
//! JS as stream events (each event's bytes are one record: `u32` words, then bytes, padded to
//! 4), the request flags, the error kinds of a close record, and the `respond` flags.

/// Record kinds (the record's first word).
pub const REC_REQUEST: i64 = 1;
pub const REC_BODY: i64 = 2;
/// A body's end: kind, conn, seq, trailer count, then as a request record's headers: a name
/// and a value length per trailer field, then their bytes.
pub const REC_BODY_END: i64 = 3;
pub const REC_CLOSE: i64 = 4;
pub const REC_DRAIN: i64 = 5;
pub const REC_FILE_DONE: i64 = 6;
/// Words before a request record's header lengths: kind, conn, seq, flags, method length,
/// url length, header count, body length.
pub const REQ_WORDS: i64 = 8;
/// Request flags.
pub const REQ_V11: i64 = 1;
pub const REQ_KEEP_ALIVE: i64 = 2;
pub const REQ_UPGRADE: i64 = 4;
pub const REQ_EXPECT_CONTINUE: i64 = 8;
pub const REQ_STREAMING: i64 = 16;
pub const REQ_HAS_BODY: i64 = 32;
/// Request flags from this bit up: 1 + the method's index in the server's method list
/// (node's `http.METHODS`), 0 when it is not there (JS then reads the method's bytes).
pub const REQ_METHOD_SHIFT: i64 = 8;
/// Close record error kinds (word 3; word 4 is `-errno` for `ERR_ERRNO`).
pub const ERR_NONE: i64 = 0;
pub const ERR_HEADER_OVERFLOW: i64 = 1;
pub const ERR_INVALID_METHOD: i64 = 2;
pub const ERR_INVALID_URL: i64 = 3;
pub const ERR_INVALID_VERSION: i64 = 4;
pub const ERR_INVALID_HEADER_TOKEN: i64 = 5;
pub const ERR_UNEXPECTED_CONTENT_LENGTH: i64 = 6;
pub const ERR_INVALID_CONTENT_LENGTH: i64 = 7;
pub const ERR_INVALID_TRANSFER_ENCODING: i64 = 8;
pub const ERR_INVALID_CHUNK_SIZE: i64 = 9;
pub const ERR_LF_EXPECTED: i64 = 10;
pub const ERR_BODY_TOO_LARGE: i64 = 11;
pub const ERR_REQUEST_TIMEOUT: i64 = 12;
pub const ERR_ERRNO: i64 = 13;
pub const ERR_INVALID_CONSTANT: i64 = 14;
pub const ERR_CLOSED_CONNECTION: i64 = 15;
/// The peer ended the connection inside a request (head or body).
pub const ERR_INVALID_EOF_STATE: i64 = 16;
/// The peer ended the connection (EOF) while requests were unanswered: node:http's
/// `abortIncoming` (`aborted`, `ECONNRESET`).
pub const ERR_ABORTED: i64 = 17;
/// A line of a head or trailers that ends with a bare LF (llhttp's "Missing expected CR after
/// header value").
pub const ERR_CR_EXPECTED: i64 = 18;
/// Chunk data ended by a bare LF ("Missing expected CR after chunk data").
pub const ERR_CR_EXPECTED_CHUNK: i64 = 19;
/// Chunk data followed by anything but CRLF or a bare LF (`HPE_STRICT`, "Expected LF after
/// chunk data").
pub const ERR_STRICT_CHUNK_END: i64 = 20;
/// A request line that ends with a bare LF (`HPE_INVALID_VERSION`, "Expected CRLF after
/// version").
pub const ERR_VERSION_LF: i64 = 21;
/// A head's or trailers' last (empty) line that is a bare LF (`HPE_INVALID_HEADER_TOKEN`,
/// "Invalid header field char").
pub const ERR_HEADER_FIELD_LF: i64 = 22;
/// `respond` flags (low bits: the caller's choices; high bits: what its headers hold).
pub const RESPOND_NO_DATE: i64 = 1;
pub const RESPOND_CLOSE: i64 = 2;
pub const RESPOND_NO_FRAMING: i64 = 4;
/// `Content-Length` whenever the whole body is known at the head (also on HTTP/1.0 and
/// for HEAD), as Bun.serve and Deno.serve write it.
pub const RESPOND_KNOWN_LENGTH: i64 = 8;
pub const H_CONTENT_LENGTH: i64 = 256;
pub const H_TRANSFER_ENCODING: i64 = 512;
pub const H_TE_CHUNKED: i64 = 1024;
pub const H_DATE: i64 = 2048;
pub const H_CONNECTION: i64 = 4096;
pub const H_CONN_CLOSE: i64 = 8192;
/// The response queue (`http/batch.rs`, `src-ts/http/respond-queue.ts`): a `Uint32Array` of
/// [`RQ_CTL_WORDS`] control words (records queued, slab bytes used) then [`RQ_RECORDS`]
/// records of [`RQ_WORDS`] words, and a byte slab of [`RQ_SLAB`] bytes for heads and bodies.
pub const RQ_CTL_WORDS: i64 = 4;
pub const RQ_RECORDS: i64 = 1024;
pub const RQ_SLAB: i64 = 256 * 1024;
/// Control words: records queued, slab bytes used.
pub const RQ_QUEUED: i64 = 0;
pub const RQ_USED: i64 = 1;
/// A record: server, connection, sequence, status, respond flags, [`RQ_END`]/[`RQ_BODY`]/
/// [`RQ_INLINE`] bits, head id (`httpHead`), head offset and length in the slab (an inline
/// head), body offset and length in the slab.
pub const RQ_WORDS: i64 = 11;
pub const RQ_SRV: i64 = 0;
pub const RQ_CONN: i64 = 1;
pub const RQ_SEQ: i64 = 2;
pub const RQ_STATUS: i64 = 3;
pub const RQ_FLAGS: i64 = 4;
pub const RQ_BITS: i64 = 5;
pub const RQ_HEAD: i64 = 6;
pub const RQ_HEAD_OFF: i64 = 7;
pub const RQ_HEAD_LEN: i64 = 8;
pub const RQ_BODY_OFF: i64 = 9;
pub const RQ_BODY_LEN: i64 = 10;
/// Record bits: the response ends; it has a body (else null); its head is in the slab.
pub const RQ_END: i64 = 1;
pub const RQ_BODY: i64 = 2;
pub const RQ_INLINE: i64 = 4;
/// Heads registered by id at most (then heads go inline).
pub const RQ_HEADS_MAX: i64 = 256;
/// Bodies queued up to this size (larger ones go through `httpRespond`, which lends them).
pub const RQ_BODY_MAX: i64 = 16 * 1024;

/// These numbers, named (digest and TS file, after [`NUMBERS`](super::NUMBERS)).
pub(super) const NUMBERS: [(&str, i64); 69] = [
    ("HTTP_REC_REQUEST", REC_REQUEST),
    ("HTTP_REC_BODY", REC_BODY),
    ("HTTP_REC_BODY_END", REC_BODY_END),
    ("HTTP_REC_CLOSE", REC_CLOSE),
    ("HTTP_REC_DRAIN", REC_DRAIN),
    ("HTTP_REC_FILE_DONE", REC_FILE_DONE),
    ("HTTP_REQ_WORDS", REQ_WORDS),
    ("HTTP_REQ_V11", REQ_V11),
    ("HTTP_REQ_KEEP_ALIVE", REQ_KEEP_ALIVE),
    ("HTTP_REQ_UPGRADE", REQ_UPGRADE),
    ("HTTP_REQ_EXPECT_CONTINUE", REQ_EXPECT_CONTINUE),
    ("HTTP_REQ_STREAMING", REQ_STREAMING),
    ("HTTP_REQ_HAS_BODY", REQ_HAS_BODY),
    ("HTTP_REQ_METHOD_SHIFT", REQ_METHOD_SHIFT),
    ("HTTP_ERR_NONE", ERR_NONE),
    ("HTTP_ERR_HEADER_OVERFLOW", ERR_HEADER_OVERFLOW),
    ("HTTP_ERR_INVALID_METHOD", ERR_INVALID_METHOD),
    ("HTTP_ERR_INVALID_URL", ERR_INVALID_URL),
    ("HTTP_ERR_INVALID_VERSION", ERR_INVALID_VERSION),
    ("HTTP_ERR_INVALID_HEADER_TOKEN", ERR_INVALID_HEADER_TOKEN),
    (
        "HTTP_ERR_UNEXPECTED_CONTENT_LENGTH",
        ERR_UNEXPECTED_CONTENT_LENGTH,
    ),
    (
        "HTTP_ERR_INVALID_CONTENT_LENGTH",
        ERR_INVALID_CONTENT_LENGTH,
    ),
    (
        "HTTP_ERR_INVALID_TRANSFER_ENCODING",
        ERR_INVALID_TRANSFER_ENCODING,
    ),
    ("HTTP_ERR_INVALID_CHUNK_SIZE", ERR_INVALID_CHUNK_SIZE),
    ("HTTP_ERR_LF_EXPECTED", ERR_LF_EXPECTED),
    ("HTTP_ERR_BODY_TOO_LARGE", ERR_BODY_TOO_LARGE),
    ("HTTP_ERR_REQUEST_TIMEOUT", ERR_REQUEST_TIMEOUT),
    ("HTTP_ERR_ERRNO", ERR_ERRNO),
    ("HTTP_ERR_INVALID_CONSTANT", ERR_INVALID_CONSTANT),
    ("HTTP_ERR_CLOSED_CONNECTION", ERR_CLOSED_CONNECTION),
    ("HTTP_ERR_INVALID_EOF_STATE", ERR_INVALID_EOF_STATE),
    ("HTTP_ERR_ABORTED", ERR_ABORTED),
    ("HTTP_ERR_CR_EXPECTED", ERR_CR_EXPECTED),
    ("HTTP_ERR_CR_EXPECTED_CHUNK", ERR_CR_EXPECTED_CHUNK),
    ("HTTP_ERR_STRICT_CHUNK_END", ERR_STRICT_CHUNK_END),
    ("HTTP_ERR_VERSION_LF", ERR_VERSION_LF),
    ("HTTP_ERR_HEADER_FIELD_LF", ERR_HEADER_FIELD_LF),
    ("HTTP_RESPOND_NO_DATE", RESPOND_NO_DATE),
    ("HTTP_RESPOND_CLOSE", RESPOND_CLOSE),
    ("HTTP_RESPOND_NO_FRAMING", RESPOND_NO_FRAMING),
    ("HTTP_RESPOND_KNOWN_LENGTH", RESPOND_KNOWN_LENGTH),
    ("HTTP_H_CONTENT_LENGTH", H_CONTENT_LENGTH),
    ("HTTP_H_TRANSFER_ENCODING", H_TRANSFER_ENCODING),
    ("HTTP_H_TE_CHUNKED", H_TE_CHUNKED),
    ("HTTP_H_DATE", H_DATE),
    ("HTTP_H_CONNECTION", H_CONNECTION),
    ("HTTP_H_CONN_CLOSE", H_CONN_CLOSE),
    ("HTTP_RQ_CTL_WORDS", RQ_CTL_WORDS),
    ("HTTP_RQ_RECORDS", RQ_RECORDS),
    ("HTTP_RQ_SLAB", RQ_SLAB),
    ("HTTP_RQ_QUEUED", RQ_QUEUED),
    ("HTTP_RQ_USED", RQ_USED),
    ("HTTP_RQ_WORDS", RQ_WORDS),
    ("HTTP_RQ_SRV", RQ_SRV),
    ("HTTP_RQ_CONN", RQ_CONN),
    ("HTTP_RQ_SEQ", RQ_SEQ),
    ("HTTP_RQ_STATUS", RQ_STATUS),
    ("HTTP_RQ_FLAGS", RQ_FLAGS),
    ("HTTP_RQ_BITS", RQ_BITS),
    ("HTTP_RQ_HEAD", RQ_HEAD),
    ("HTTP_RQ_HEAD_OFF", RQ_HEAD_OFF),
    ("HTTP_RQ_HEAD_LEN", RQ_HEAD_LEN),
    ("HTTP_RQ_BODY_OFF", RQ_BODY_OFF),
    ("HTTP_RQ_BODY_LEN", RQ_BODY_LEN),
    ("HTTP_RQ_END", RQ_END),
    ("HTTP_RQ_BODY", RQ_BODY),
    ("HTTP_RQ_INLINE", RQ_INLINE),
    ("HTTP_RQ_HEADS_MAX", RQ_HEADS_MAX),
    ("HTTP_RQ_BODY_MAX", RQ_BODY_MAX),
];
