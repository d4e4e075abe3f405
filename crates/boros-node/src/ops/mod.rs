//! The binding's ops, one file each. Every op is a core op (what it lends the kernel) plus
//! its own completion logic ([`NodeOp`](crate::complete::NodeOp)): nothing else needs to know
//! what an op is to finish it.
//!
//! | op | completion |
//! |---|---|
//! | [`ConnectWait`] | the end of a TCP connect `connect(2)` started: a poll for `POLLOUT`, then `SO_ERROR` |
//! | [`Passthrough`] | any core op whose result goes to JS as it is (open, close, fsync, writes, paths...) |
//! | [`ReadCopy`] | a read into a bounce buffer, copied into the caller's JS buffer if still attached |
//! | [`StatOut`] | a statx whose result fills the caller's `Float64Array` |
//! | [`read_file`] | the one-trip readFile: open → read → read, linked, one JS completion |
//! | [`OpenFixed`], [`CloseFixed`] | an open into / close of a registered-file slot; the slot is freed by the op's own completion |
//! | [`AcceptStream`] | a listener's multishot accept: each connection an event of its stream |
//! | [`RecvStream`] | a connection's multishot receive: bytes copied into the batch's event data, buffers recycled at once |
//! | [`HttpOp`] | an op of an HTTP engine connection (send, file read, shutdown, close): its result goes to the engine |
//! | [`HttpZc`] | a zero-copy send of an HTTP engine connection: its result goes to the engine, its pieces are released at the notification |
//! | [`RecvOnce`] | a connection's single `recv` into an owned buffer, when the shared buffer ring could not be registered |
//! | [`ChunkRead`] | a multishot read into a provided-buffer ring (chunk streams) |

pub mod accept_stream;
mod chunk_read;
mod connect_wait;
mod fixed_file;
mod http_op;
mod http_zc;
mod passthrough;
mod read_copy;
pub mod read_file;
mod recv_once;
pub mod recv_stream;
mod stat;

pub use accept_stream::AcceptStream;
pub use chunk_read::{ChunkRead, ChunkStream};
pub use connect_wait::ConnectWait;
pub use fixed_file::{CloseFixed, OpenFixed};
pub use http_op::HttpOp;
pub use http_zc::HttpZc;
pub use passthrough::Passthrough;
pub use read_copy::ReadCopy;
pub use recv_once::RecvOnce;
pub use recv_stream::RecvStream;
pub use stat::StatOut;
