//! Files as response bodies (`Engine.sendFile`): the file is read on the ring into memory the
//! engine owns, in pieces of up to [`FILE_CHUNK`], and each piece is queued as it is (no copy,
//! JS never sees the bytes) behind the connection's other output. The next read starts once the
//! connection's unsent bytes are below its high-water mark, so a large file never sits in memory
//! whole. A file that ends before the length asked for, or a read error, ends the connection
//! after what was queued (the response cannot be completed). When the range is queued (or it
//! failed) a `REC_FILE_DONE` record tells JS.

use super::conn::Conn;
use super::out::Piece;
use super::{record, respond, with_conn};
use crate::complete::JsBatch;
use crate::ops::HttpOp;
use crate::wire::http as w;
use boros::op;
use boros::Driver;

/// Bytes one read asks for at most.
pub const FILE_CHUNK: u64 = 256 * 1024;

/// A file being sent as the body of response `seq`.
pub struct FileJob {
    pub seq: u32,
    pub fd: i32,
    pub pos: u64,
    pub left: u64,
    /// Bytes queued so far.
    pub done: u64,
    /// End the response once the range is queued.
    pub end: bool,
    pub reading: bool,
}

impl Conn {
    /// Starts sending `len` bytes of `fd` from `pos` as body of response `seq` (its head must
    /// have been written, the response not ended, no other file in progress). False otherwise.
    pub fn send_file(&mut self, seq: u32, fd: i32, pos: u64, len: u64, end: bool) -> bool {
        if self.errored || self.dying.is_some() || self.file.is_some() {
            return false;
        }
        match self.pipe.get(seq) {
            Some((r, _)) if r.started && !r.ended => {}
            _ => return false,
        }
        self.file = Some(FileJob {
            seq,
            fd,
            pos,
            left: len,
            done: 0,
            end,
            reading: false,
        });
        true
    }

    /// The file job's next read, when its response is the one going out and the bytes queued
    /// ahead of it are below `hwm`.
    pub fn step_file(
        &mut self,
        d: &mut Driver<dyn crate::complete::NodeOp>,
        srv: u32,
        id: u32,
        hwm: usize,
    ) {
        // Only the bytes ahead of the file count: responses after it wait for it.
        let ahead =
            self.out.len() + self.sending + self.queued.iter().map(Piece::len).sum::<usize>();
        if self.errored || self.dying.is_some() || ahead >= hwm.max(1) {
            return;
        }
        let front = self.pipe.front;
        let Some(job) = self.file.as_mut() else {
            return;
        };
        if job.reading || job.seq != front {
            return;
        }
        if job.left == 0 {
            // A zero-length range: nothing to read.
            finish(self, id, None);
            return;
        }
        let n = job.left.min(FILE_CHUNK) as usize;
        let read = op::Read::new(job.fd, Vec::<u8>::with_capacity(n), job.pos);
        if d.push(HttpOp::new(read, srv, id, on_read), 0).is_ok() {
            job.reading = true;
            self.files += 1;
        }
    }
}

/// The job of `c` is over: queued whole (`err` None) or failed (`-errno`, or 0 for a file that
/// ended early). Ends the response, or the connection after what is queued.
fn finish(c: &mut Conn, id: u32, err: Option<i32>) -> Vec<u32> {
    let Some(job) = c.file.take() else {
        return Vec::new();
    };
    match err {
        None => {
            if job.end {
                if let Some((r, front)) = c.pipe.get(job.seq) {
                    respond::end(r, &mut c.out);
                    c.after_write(front);
                }
            }
        }
        // The response cannot be completed: the connection closes once what is queued is out
        // (`fail` writes no answer of its own after a started response).
        Some(_) => c.fail(w::ERR_NONE),
    }
    let lo = job.done as u32;
    let hi = (job.done >> 32) as u32;
    // Status: 0 queued whole, 1 the file ended early, < 0 `-errno`.
    let status = match err {
        None => 0,
        Some(0) => 1,
        Some(e) => e,
    };
    vec![w::REC_FILE_DONE as u32, id, job.seq, status as u32, lo, hi]
}

/// A read of a file job finished.
fn on_read(cx: &mut JsBatch<'_>, srv: u32, id: u32, result: i32, op: op::Read<Vec<u8>>) {
    with_conn(srv, id, |c, stream, _| {
        c.files = c.files.saturating_sub(1);
        let Some(job) = c.file.as_mut() else {
            return;
        };
        job.reading = false;
        let words = if c.dying.is_some() || c.errored {
            // The connection is closing: the file's bytes are not wanted.
            finish(c, id, Some(-libc::ECONNRESET))
        } else if result < 0 {
            finish(c, id, Some(result))
        } else if result == 0 {
            // The file ended before the length asked for.
            finish(c, id, Some(0))
        } else {
            let buf = op.into_buf(result as u32);
            let n = buf.len() as u64;
            job.pos += n;
            job.left -= n.min(job.left);
            job.done += n;
            let left = job.left;
            let seq = job.seq;
            if let Some((r, _)) = c.pipe.get(seq) {
                let chunked = r.chunked;
                let has_body = r.has_body;
                if has_body {
                    if chunked {
                        respond::chunk_head(buf.len(), &mut c.out);
                    }
                    if !c.out.is_empty() {
                        let mut next = std::mem::take(&mut c.spare);
                        next.clear();
                        c.queued
                            .push_back(Piece::own(std::mem::replace(&mut c.out, next)));
                    }
                    c.queued.push_back(Piece::own(buf));
                    if chunked {
                        c.out.extend_from_slice(b"\r\n");
                    }
                }
            }
            if left == 0 {
                finish(c, id, None)
            } else {
                Vec::new()
            }
        };
        if !words.is_empty() {
            cx.event_with(stream, |b| record::words(b, &words));
        }
    });
}
