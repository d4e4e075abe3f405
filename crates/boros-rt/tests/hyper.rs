//! hyper 1.x on boros-rt through the tokio-io adapters (`compat::Compat` inside
//! `hyper_util::rt::TokioIo`): hyper's HTTP/1.1 server and hyper's client, both on one
//! runtime, several requests on one keep-alive connection, bodies both ways. Needs
//! `--all-features` (`npm test` passes it).
#![cfg(feature = "tokio-io")]

use boros_rt::compat::Compat;
use boros_rt::net::{TcpListener, TcpStream};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;

/// Answers with the method, the path and the body's length and checksum.
async fn describe(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let sum: u64 = body.iter().map(|&b| u64::from(b)).sum();
    let text = format!(
        "{} {} {} {}",
        parts.method,
        parts.uri.path(),
        body.len(),
        sum
    );
    Ok(Response::new(Full::new(Bytes::from(text))))
}

#[test]
fn hyper_server_and_client_keep_alive_with_bodies() {
    boros_rt::block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = boros_rt::spawn(async move {
            let (s, _) = listener.accept().await.unwrap();
            hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(Compat::new(s)), service_fn(describe))
                .await
        });
        let tcp = TcpStream::connect(addr).await.unwrap();
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake::<_, Full<Bytes>>(TokioIo::new(Compat::new(tcp)))
                .await
                .unwrap();
        let driver = boros_rt::spawn(conn);
        let big: Vec<u8> = (0..256 * 1024u32).map(|i| (i % 253) as u8).collect();
        let cases = [
            ("GET", "/a", Vec::new()),
            ("POST", "/upload", big),
            ("PUT", "/small", b"hello".to_vec()),
        ];
        for (method, path, body) in cases {
            let len = body.len();
            let sum: u64 = body.iter().map(|&b| u64::from(b)).sum();
            let req = Request::builder()
                .method(method)
                .uri(path)
                .header("host", "localhost")
                .body(Full::new(Bytes::from(body)))
                .unwrap();
            let res = sender.send_request(req).await.unwrap();
            assert_eq!(res.status(), 200);
            let text = res.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(
                std::str::from_utf8(&text).unwrap(),
                format!("{method} {path} {len} {sum}")
            );
        }
        drop(sender); // the client closes the connection; the server's task ends cleanly
        driver.await.unwrap().unwrap();
        server.await.unwrap().unwrap();
    });
}
