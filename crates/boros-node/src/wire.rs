//! The wire protocol between this binding and the TypeScript façade, defined once.
//!
//! Everything both sides must agree on lives here: the layout of the shared submission queue,
//! the kinds of its entries, how a file is named (a descriptor or a registered-file slot: two
//! kinds, never one number with a sign convention), the stat record, and every error code the
//! native side can throw. The façade's copy, `src-ts/wire.ts`, is **generated** from this file
//! ([`typescript`]; `BOROS_BLESS=1 cargo test -p boros-node --lib` rewrites it, and the same
//! test fails when it is stale), and [`DIGEST`], a hash of every value below, is checked when
//! the runtime starts: a binary and a façade from different builds refuse to talk.
//!
//! The HTTP engine's records and flags are in [`http`]; the digest and the TypeScript text
//! are made in `wire/generate.rs`.

mod generate;
pub mod http;

pub use generate::{typescript, DIGEST};

/// Bump when the meaning (not just a value) of the protocol changes.
pub const PROTOCOL_VERSION: u32 = 4;

/// How an op names its file. A descriptor and a registered-file slot are different kinds,
/// carried apart from the number, from the façade's handle to the SQE (`types::Fd` /
/// `types::Fixed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum FileKind {
    /// A descriptor in the process's file table.
    Fd = 0,
    /// A slot of this thread's ring's registered file table (a "direct descriptor").
    Fixed = 1,
}

impl FileKind {
    /// The kind a number names, if any.
    pub fn from_u32(v: u32) -> Option<Self> {
        match v {
            0 => Some(FileKind::Fd),
            1 => Some(FileKind::Fixed),
            _ => None,
        }
    }
}

/// What one shared-queue entry asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum EntryKind {
    /// A read into an arena slot (copied out into the caller's buffer by the façade).
    Read = 0,
    /// A write from an arena slot (the façade copied the bytes in when queuing).
    Write = 1,
    /// A read into a `BufferPool` buffer, in place.
    PoolRead = 2,
    /// A write from a `BufferPool` buffer, in place.
    PoolWrite = 3,
}

impl EntryKind {
    /// The kind a number names, if any.
    pub fn from_f64(v: f64) -> Option<Self> {
        match v as u32 {
            _ if v.fract() != 0.0 || v < 0.0 => None,
            0 => Some(EntryKind::Read),
            1 => Some(EntryKind::Write),
            2 => Some(EntryKind::PoolRead),
            3 => Some(EntryKind::PoolWrite),
            _ => None,
        }
    }
}

/// Fields of one shared-queue entry (a run of `f64`s in the entries `Float64Array`).
pub mod entry {
    /// [`EntryKind`](super::EntryKind).
    pub const KIND: usize = 0;
    /// [`FileKind`](super::FileKind) of the file.
    pub const FILE_KIND: usize = 1;
    /// The descriptor or the slot.
    pub const FILE: usize = 2;
    /// Offset into the arena, or for pool entries into the pool buffer.
    pub const OFFSET: usize = 3;
    /// Bytes to read or write.
    pub const LENGTH: usize = 4;
    /// File position; [`CURRENT_POSITION`](super::CURRENT_POSITION): the current position.
    pub const POSITION: usize = 5;
    /// The façade's token for the completion.
    pub const TOKEN: usize = 6;
    /// Pool entries: the pool's id.
    pub const POOL: usize = 7;
    /// Pool entries: the buffer's index in the pool.
    pub const POOL_INDEX: usize = 8;
    /// Numbers per entry.
    pub const FIELDS: usize = 9;
}

/// Slots of the control `Int32Array`.
pub mod ctl {
    /// Entries written and not yet drained (the façade adds, the runtime resets).
    pub const QUEUED: usize = 0;
    /// 1 while the runtime keeps the loop alive, so queued entries are sure to be drained
    /// before libuv blocks; 0 tells the façade to call `flush()` when it queues into an empty
    /// queue.
    pub const REFERENCED: usize = 1;
    /// Length of the array.
    pub const LEN: usize = 4;
}

/// Entries the shared queue holds (a full queue is flushed by the façade).
pub const QUEUE_CAPACITY: usize = 1024;
/// Reads and writes of at most this many bytes go through the shared queue's arena.
pub const FAST_MAX: usize = 16384;
/// Arena slots (each `FAST_MAX` bytes).
pub const ARENA_SLOTS: usize = 1024;
/// Alignment of the arena's first slot (a page, so `O_DIRECT` transfers through it work).
pub const ARENA_ALIGN: usize = 4096;
/// `(token, result)` pairs handed to JS per completion call.
pub const RESULT_PAIRS: usize = 4096;
/// A position that means "the file's current position" (it advances).
pub const CURRENT_POSITION: i64 = -1;
/// Reads and writes of at most this many bytes go through one bounce buffer of the binding;
/// a larger positional read is split into reads of this size.
pub const BOUNCE_MAX: usize = 1 << 20;
/// Most bytes per buffer of a chunk stream (`readChunks` `bufferSize`).
pub const CHUNK_MAX_BUFFER_SIZE: u32 = 16 << 20;
/// Most buffers of a chunk stream (`readChunks` `bufferCount`): a provided-buffer ring's limit.
pub const CHUNK_MAX_BUFFERS: u32 = boros::bufring::MAX_ENTRIES as u32;

/// Fields of one stream event (a run of `i32`s in the events `Int32Array`): what a multishot
/// op (a listener's accept, a socket's receive) reports, delivered with the completions of the
/// same batch, after them.
pub mod event {
    /// The stream the event is for (the façade's stream id).
    pub const STREAM: usize = 0;
    /// Accept: the new descriptor. Receive: bytes received (> 0, at [`OFFSET`] of segment
    /// [`SEGMENT`]), 0 at end of stream. Both: `-errno`, or [`REARM`](super::EVENT_REARM).
    pub const RESULT: usize = 1;
    /// Receive: where the bytes start in their segment.
    pub const OFFSET: usize = 2;
    /// Receive: the segment (a Buffer) the bytes are in: its index in the array of segments
    /// delivered with the batch (see `segments.rs`).
    pub const SEGMENT: usize = 3;
    /// Numbers per event.
    pub const FIELDS: usize = 4;
    /// One event, as the binding collects them.
    pub type Event = [i32; FIELDS];
}

/// Stream events handed to JS per completion call.
pub const EVENT_CAPACITY: usize = 4096;
/// An event result that says: the multishot op ended with nothing wrong (its buffers ran dry,
/// the completion queue filled up); arm it again to go on. Nothing was lost.
pub const EVENT_REARM: i32 = i32::MIN;

/// Fields of a stat record, in order: the façade's `Float64Array` of that many numbers.
pub const STAT_FIELD_NAMES: [&str; 18] = [
    "dev",
    "mode",
    "nlink",
    "uid",
    "gid",
    "rdev",
    "blksize",
    "ino",
    "size",
    "blocks",
    "atimeSec",
    "atimeNsec",
    "mtimeSec",
    "mtimeNsec",
    "ctimeSec",
    "ctimeNsec",
    "birthtimeSec",
    "birthtimeNsec",
];
/// Numbers in a stat record.
pub const STAT_FIELDS: usize = STAT_FIELD_NAMES.len();

/// Every error code the native side throws: `(name, code, when)`.
pub const ERROR_CODES: [(&str, &str, &str); 9] = [
    (
        "NOT_INITIALIZED",
        "ERR_BOROS_NOT_INITIALIZED",
        "The runtime of this thread was not set up (an internal call came too early).",
    ),
    (
        "CLOSED",
        "ERR_BOROS_CLOSED",
        "The handle, stream, pool or runtime was closed (or is shutting down).",
    ),
    (
        "IO_URING_UNAVAILABLE",
        "ERR_BOROS_IO_URING_UNAVAILABLE",
        "io_uring could not be set up here; the message says why.",
    ),
    (
        "UNSUPPORTED_OP",
        "ERR_BOROS_UNSUPPORTED_OP",
        "The kernel lacks an io_uring operation; the message names it and the kernel it needs.",
    ),
    (
        "UNSUPPORTED_RUNTIME",
        "ERR_BOROS_UNSUPPORTED_RUNTIME",
        "The JS runtime lacks what the call needs (libuv symbols, external buffers).",
    ),
    (
        "SUBMIT_FAILED",
        "ERR_BOROS_SUBMIT",
        "io_uring_enter (or a registration) failed; the message has the errno.",
    ),
    (
        "INVALID_ARG_TYPE",
        "ERR_INVALID_ARG_TYPE",
        "An argument has the wrong type (Node's code).",
    ),
    (
        "INVALID_ARG_VALUE",
        "ERR_INVALID_ARG_VALUE",
        "An argument has a value the call refuses (Node's code).",
    ),
    (
        "OUT_OF_RANGE",
        "ERR_OUT_OF_RANGE",
        "A number is out of range (Node's code).",
    ),
];

/// The codes, by name, for Rust callers.
pub mod codes {
    /// See [`ERROR_CODES`](super::ERROR_CODES).
    pub const NOT_INITIALIZED: &str = super::ERROR_CODES[0].1;
    /// See [`ERROR_CODES`](super::ERROR_CODES).
    pub const CLOSED: &str = super::ERROR_CODES[1].1;
    /// See [`ERROR_CODES`](super::ERROR_CODES).
    pub const UNAVAILABLE: &str = super::ERROR_CODES[2].1;
    /// See [`ERROR_CODES`](super::ERROR_CODES).
    pub const UNSUPPORTED_OP: &str = super::ERROR_CODES[3].1;
    /// See [`ERROR_CODES`](super::ERROR_CODES).
    pub const UNSUPPORTED_RUNTIME: &str = super::ERROR_CODES[4].1;
    /// See [`ERROR_CODES`](super::ERROR_CODES).
    pub const SUBMIT_FAILED: &str = super::ERROR_CODES[5].1;
    /// See [`ERROR_CODES`](super::ERROR_CODES).
    pub const INVALID_ARG_TYPE: &str = super::ERROR_CODES[6].1;
    /// See [`ERROR_CODES`](super::ERROR_CODES).
    pub const INVALID_ARG_VALUE: &str = super::ERROR_CODES[7].1;
    /// See [`ERROR_CODES`](super::ERROR_CODES).
    pub const OUT_OF_RANGE: &str = super::ERROR_CODES[8].1;
}

/// Every number of the protocol, named, in the order the digest and the TS file use.
const NUMBERS: [(&str, i64); 37] = [
    ("PROTOCOL_VERSION", PROTOCOL_VERSION as i64),
    ("QUEUE_CAPACITY", QUEUE_CAPACITY as i64),
    ("FAST_MAX", FAST_MAX as i64),
    ("ARENA_SLOTS", ARENA_SLOTS as i64),
    ("ARENA_ALIGN", ARENA_ALIGN as i64),
    ("RESULT_PAIRS", RESULT_PAIRS as i64),
    ("CURRENT_POSITION", CURRENT_POSITION),
    ("BOUNCE_MAX", BOUNCE_MAX as i64),
    ("CHUNK_MAX_BUFFER_SIZE", CHUNK_MAX_BUFFER_SIZE as i64),
    ("CHUNK_MAX_BUFFERS", CHUNK_MAX_BUFFERS as i64),
    ("STAT_FIELDS", STAT_FIELDS as i64),
    ("ENTRY_FIELDS", entry::FIELDS as i64),
    ("ENTRY_KIND", entry::KIND as i64),
    ("ENTRY_FILE_KIND", entry::FILE_KIND as i64),
    ("ENTRY_FILE", entry::FILE as i64),
    ("ENTRY_OFFSET", entry::OFFSET as i64),
    ("ENTRY_LENGTH", entry::LENGTH as i64),
    ("ENTRY_POSITION", entry::POSITION as i64),
    ("ENTRY_TOKEN", entry::TOKEN as i64),
    ("ENTRY_POOL", entry::POOL as i64),
    ("ENTRY_POOL_INDEX", entry::POOL_INDEX as i64),
    ("CTL_QUEUED", ctl::QUEUED as i64),
    ("CTL_REFERENCED", ctl::REFERENCED as i64),
    ("CTL_LEN", ctl::LEN as i64),
    ("FILE_KIND_FD", FileKind::Fd as i64),
    ("FILE_KIND_FIXED", FileKind::Fixed as i64),
    ("ENTRY_READ", EntryKind::Read as i64),
    ("ENTRY_WRITE", EntryKind::Write as i64),
    ("ENTRY_POOL_READ", EntryKind::PoolRead as i64),
    ("ENTRY_POOL_WRITE", EntryKind::PoolWrite as i64),
    ("EVENT_FIELDS", event::FIELDS as i64),
    ("EVENT_STREAM", event::STREAM as i64),
    ("EVENT_RESULT", event::RESULT as i64),
    ("EVENT_OFFSET", event::OFFSET as i64),
    ("EVENT_SEGMENT", event::SEGMENT as i64),
    ("EVENT_CAPACITY", EVENT_CAPACITY as i64),
    ("SUN_PATH_LEN", boros::net::SUN_PATH_LEN as i64),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip() {
        for k in [FileKind::Fd, FileKind::Fixed] {
            assert_eq!(FileKind::from_u32(k as u32), Some(k));
        }
        assert_eq!(FileKind::from_u32(2), None);
        for k in [
            EntryKind::Read,
            EntryKind::Write,
            EntryKind::PoolRead,
            EntryKind::PoolWrite,
        ] {
            assert_eq!(EntryKind::from_f64(k as u32 as f64), Some(k));
        }
        assert_eq!(EntryKind::from_f64(0.5), None);
        assert_eq!(EntryKind::from_f64(-1.0), None);
        assert_eq!(EntryKind::from_f64(4.0), None);
    }
}
