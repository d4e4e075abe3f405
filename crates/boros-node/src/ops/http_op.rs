//! An op of one HTTP engine connection (a send, a file read for a body, a shutdown, the
//! close): a core op plus the engine function its completion goes to, with the server and
//! connection it belongs to. The engine (`crate::http`) decides what each result means.

use crate::complete::JsBatch;
use boros::io_uring::squeue::Entry;
use boros::op::OpCode;
use boros::Complete;
use boros::Cqe;

/// What a connection op's completion calls: `(cx, server, conn, result, the op back)`.
pub type Done<O> = fn(&mut JsBatch<'_>, u32, u32, i32, O);

/// A core op of connection `conn` of server `server`.
pub struct HttpOp<O: OpCode + 'static> {
    op: O,
    server: u32,
    conn: u32,
    done: Done<O>,
}

impl<O: OpCode + 'static> HttpOp<O> {
    pub fn new(op: O, server: u32, conn: u32, done: Done<O>) -> Box<Self> {
        Box::new(Self {
            op,
            server,
            conn,
            done,
        })
    }
}

// SAFETY: delegates to the core op, which owns everything its entry points to until this op
// is dropped (after its final CQE).
unsafe impl<O: OpCode + 'static> OpCode for HttpOp<O> {
    fn entry(&mut self) -> Entry {
        self.op.entry()
    }
}

impl<O: OpCode + 'static> Complete<JsBatch<'_>> for HttpOp<O> {
    fn complete(self: Box<Self>, cqe: &Cqe, cx: &mut JsBatch<'_>) {
        let this = *self;
        (this.done)(cx, this.server, this.conn, cqe.result, this.op);
    }
}
