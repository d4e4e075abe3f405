//! A TCP echo server on boros-rt: connections from a multishot accept, a task per
//! connection, each looping `read` then `write_all` on its own buffer.
//!
//! ```text
//! cargo run -p boros-rt --example echo -- [ADDR (127.0.0.1:7000)] [--threads N]
//! ```
//!
//! With `--threads N`, N threads each run their own runtime and ring, with their own
//! listener on the same port (`SO_REUSEPORT`: the kernel spreads connections).

use boros_rt::net::{TcpListener, TcpStream};

async fn serve(stream: TcpStream) {
    let mut buf = Vec::with_capacity(16 * 1024);
    loop {
        buf.clear();
        let (n, b) = stream.read(buf).await;
        match n {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let (r, b) = stream.write_all(b).await;
        if r.is_err() {
            return;
        }
        buf = b;
    }
}

async fn run(addr: String, reuse_port: bool) -> std::io::Result<()> {
    let listener = if reuse_port {
        TcpListener::bind_reuseport(&addr)?
    } else {
        TcpListener::bind(&addr)?
    };
    eprintln!("echo: listening on {}", listener.local_addr()?);
    // One multishot accept: a single SQE hands out every connection.
    let mut incoming = listener.incoming();
    loop {
        let stream = incoming.next().await?;
        let _ = stream.set_nodelay(true);
        drop(boros_rt::spawn(serve(stream)));
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut addr = "127.0.0.1:7000".to_owned();
    let mut threads = 1usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--threads" => threads = args.next().and_then(|n| n.parse().ok()).unwrap_or(1),
            _ => addr = a,
        }
    }
    if threads <= 1 {
        boros_rt::block_on(run(addr, false))?;
    } else {
        boros_rt::thread::Builder::new()
            .threads(threads)
            .run(move |_| run(addr.clone(), true))?
            .join()?
            .into_iter()
            .collect::<Result<Vec<()>, _>>()?;
    }
    Ok(())
}
