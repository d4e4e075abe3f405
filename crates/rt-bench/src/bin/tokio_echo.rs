//! A TCP echo server on tokio's `current_thread` runtime (one thread, epoll): a task per
//! connection looping read then write_all — the same shape as boros-rt's `echo` example, to be
//! driven by the boros core's `echo_client` load generator (see `run.sh`).

use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7000".to_owned());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&addr).await?;
        eprintln!("tokio_echo: listening on {}", listener.local_addr()?);
        loop {
            let (mut s, _) = listener.accept().await?;
            let _ = s.set_nodelay(true);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                loop {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => {
                            if s.write_all(&buf[..n]).await.is_err() {
                                return;
                            }
                        }
                    }
                }
            });
        }
        #[allow(unreachable_code)]
        Ok::<_, std::io::Error>(())
    })?;
    Ok(())
}
