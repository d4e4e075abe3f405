//! A listener's multishot accept (Linux 5.19): each CQE is a new connection's descriptor,
//! handed to the op's [`AcceptSink`]. The sink of `boros/net` listeners reports it to the
//! façade's stream as an event (see `wire::event`; the JS side is `src-ts/net/`, the exported
//! calls `api/net.rs`); the HTTP engine's sink sets the connection up natively (`crate::http`).

use crate::complete::JsBatch;
use crate::ops::recv_stream::{last_status, RecvSink, StreamSink};
use boros::io_uring::squeue::Entry;
use boros::multishot::{self, Shot};
use boros::op::{self, OpCode};
use boros::Complete;
use boros::Cqe;

/// Where accepted connections go.
pub trait AcceptSink: 'static {
    /// A new connection's descriptor, `-errno`, or [`EVENT_REARM`](crate::wire::EVENT_REARM) (the multishot stopped
    /// with nothing wrong: arm it again). Every result but one coming with
    /// `IORING_CQE_F_MORE` is the op's last.
    fn accepted(&mut self, result: i32, cx: &mut JsBatch<'_>);
}

impl AcceptSink for StreamSink {
    fn accepted(&mut self, result: i32, cx: &mut JsBatch<'_>) {
        // A boros/net connection is this thread's (fds.rs) until the façade closes it. (The
        // HTTP engine's connections are closed by the engine and are not tracked.)
        crate::fds::own(result);
        self.status(result, cx);
    }
}

/// The multishot accept armed on a listening socket.
pub struct AcceptStream<S: AcceptSink = StreamSink> {
    op: op::AcceptMulti,
    sink: S,
}

impl AcceptStream {
    /// Accepts connections on `fd` (`SOCK_CLOEXEC | SOCK_NONBLOCK`), reporting to `stream`.
    pub fn new(fd: i32, stream: u32) -> Box<Self> {
        AcceptStream::with_sink(fd, StreamSink(stream))
    }
}

impl<S: AcceptSink> AcceptStream<S> {
    /// Accepts connections on `fd` (`SOCK_CLOEXEC | SOCK_NONBLOCK`), handing them to `sink`.
    pub fn with_sink(fd: i32, sink: S) -> Box<Self> {
        Box::new(Self {
            op: op::AcceptMulti::new(fd).flags(libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK),
            sink,
        })
    }
}

// SAFETY: delegates to `op::AcceptMulti`, whose entry carries no pointer.
unsafe impl<S: AcceptSink> OpCode for AcceptStream<S> {
    fn entry(&mut self) -> Entry {
        self.op.entry()
    }
}

impl<S: AcceptSink> Complete<JsBatch<'_>> for AcceptStream<S> {
    fn update(&mut self, cqe: &Cqe, cx: &mut JsBatch<'_>) {
        self.sink.accepted(cqe.result, cx);
    }

    fn complete(mut self: Box<Self>, cqe: &Cqe, cx: &mut JsBatch<'_>) {
        // On a connection the multishot stopped (a full CQ, or a cancel that came too late:
        // the façade closes descriptors a closed listener receives): deliver it, then say so.
        let step = multishot::step_accept(cqe.result, cqe.flags);
        if let Shot::Item(fd) = step.shot {
            self.sink.accepted(fd, cx);
        }
        self.sink.accepted(last_status(step), cx);
    }
}
