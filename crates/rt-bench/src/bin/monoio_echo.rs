//! A TCP echo server on monoio (io_uring, one thread): a task per connection looping
//! `read` then `write_all` with owned buffers, the shape of boros-rt's `echo` example.

use monoio::io::{AsyncReadRent, AsyncWriteRentExt};

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7000".to_owned());
    let mut rt = monoio::RuntimeBuilder::<monoio::IoUringDriver>::new()
        .with_entries(1024)
        .build()?;
    rt.block_on(async move {
        let listener = monoio::net::TcpListener::bind(&addr)?;
        eprintln!("monoio_echo: listening on {addr}");
        loop {
            let (mut s, _) = listener.accept().await?;
            let _ = s.set_nodelay(true);
            monoio::spawn(async move {
                let mut buf = Vec::with_capacity(16 * 1024);
                loop {
                    buf.clear();
                    let (r, b) = s.read(buf).await;
                    match r {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                    let (r, b) = s.write_all(b).await;
                    if r.is_err() {
                        return;
                    }
                    buf = b;
                }
            });
        }
    })
}
