//! hyper 1.x serving "Hello, World!" over HTTP/1.1 on boros-rt, through the tokio-io adapter
//! (`boros_rt::compat::Compat`) and `hyper_util::rt::TokioIo`: one thread, a task per
//! connection. Compare with `hyper_tokio` (the same service on tokio's current_thread).

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::service::service_fn;
use hyper::{Request, Response};
use std::convert::Infallible;

async fn hello(_: Request<hyper::body::Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(
        b"Hello, World!",
    ))))
}

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7000".to_owned());
    boros_rt::block_on(async move {
        let listener = boros_rt::net::TcpListener::bind(&addr)?;
        eprintln!("hyper_boros: listening on {addr}");
        let mut incoming = listener.incoming();
        loop {
            let stream = incoming.next().await?;
            let _ = stream.set_nodelay(true);
            let io = hyper_util::rt::TokioIo::new(boros_rt::compat::Compat::new(stream));
            drop(boros_rt::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(io, service_fn(hello))
                    .await;
            }));
        }
    })
}
