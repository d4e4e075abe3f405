//! The calls the TypeScript façade makes (`#[napi]` exports), grouped by what they act on.
//! Each turns JS arguments into one op (checking every number before it can become a pointer,
//! an offset or a file), queues it, and returns its key; the op finishes itself (see
//! [`crate::complete`]). These modules sit on top: nothing below imports them.

pub mod chunks;
pub mod file;
pub mod http;
pub mod http_body;
pub mod net;
pub mod net_send;
pub mod owned;
pub mod paths;
pub mod pool;
pub mod read_file;
pub mod ring;
pub mod wake;
