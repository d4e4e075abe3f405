//! `cat` on boros-rt: prints files, 64 KiB at a time, each read an io_uring op.
//!
//! ```text
//! cargo run -p boros-rt --example cat -- /etc/hostname [more files...]
//! ```

use boros_rt::fs::File;
use std::io::Write;

fn main() -> std::io::Result<()> {
    let paths: Vec<String> = std::env::args().skip(1).collect();
    if paths.is_empty() {
        eprintln!("usage: cat FILE...");
        std::process::exit(2);
    }
    boros_rt::block_on(async {
        let mut out = std::io::stdout().lock();
        let mut buf = Vec::with_capacity(64 * 1024);
        for path in &paths {
            let file = File::open(path).await?;
            let mut pos = 0u64;
            loop {
                buf.clear();
                let (n, b) = file.read_at(buf, pos).await;
                buf = b;
                let n = n?;
                if n == 0 {
                    break;
                }
                out.write_all(&buf[..n])?;
                pos += n as u64;
            }
            file.close().await?;
        }
        out.flush()
    })
}
