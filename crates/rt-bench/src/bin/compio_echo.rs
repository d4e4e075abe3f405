//! A TCP echo server on compio (io_uring, one thread): a task per connection looping `read`
//! then `write_all` with owned buffers, the shape of boros-rt's `echo` example.

use compio::io::{AsyncRead, AsyncWriteExt};

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7000".to_owned());
    let rt = compio::runtime::Runtime::new()?;
    rt.block_on(async move {
        let listener = compio::net::TcpListener::bind(&addr).await?;
        eprintln!("compio_echo: listening on {addr}");
        loop {
            let (mut s, _) = listener.accept().await?;
            let _ = s.set_nodelay(true);
            compio::runtime::spawn(async move {
                let mut buf = Vec::with_capacity(16 * 1024);
                loop {
                    buf.clear();
                    let compio::BufResult(r, b) = s.read(buf).await;
                    match r {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                    let compio::BufResult(r, b) = s.write_all(b).await;
                    if r.is_err() {
                        return;
                    }
                    buf = b;
                }
            })
            .detach();
        }
    })
}
