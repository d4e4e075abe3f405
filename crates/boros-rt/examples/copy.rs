//! A file copier on boros-rt: reads and writes 256 KiB chunks, 8 chunks in flight at once,
//! each chunk a task doing `read_exact_at` then `write_all_at` on its own buffer.
//!
//! ```text
//! cargo run -p boros-rt --example copy -- SOURCE DEST
//! ```

use boros_rt::fs::{File, OpenOptions};
use boros_rt::JoinSet;
use std::rc::Rc;

const CHUNK: u64 = 256 * 1024;
const IN_FLIGHT: u64 = 8;

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [from, to] = args.as_slice() else {
        eprintln!("usage: copy SOURCE DEST");
        std::process::exit(2);
    };
    boros_rt::block_on(async {
        let src = Rc::new(File::open(from).await?);
        let len = src.metadata().await?.len();
        let dst = Rc::new(
            OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .open(to)
                .await?,
        );
        let chunks = len.div_ceil(CHUNK);
        // Worker w copies chunks w, w + IN_FLIGHT, w + 2 * IN_FLIGHT, ...
        let mut set = JoinSet::new();
        for w in 0..IN_FLIGHT.min(chunks) {
            let (src, dst) = (src.clone(), dst.clone());
            set.spawn(async move {
                let mut buf = Vec::with_capacity(CHUNK as usize);
                let mut c = w;
                while c < chunks {
                    let pos = c * CHUNK;
                    let want = CHUNK.min(len - pos) as usize;
                    buf.clear();
                    buf.reserve_exact(want);
                    let (r, b) = src
                        .read_exact_at(boros_rt::buf::Slice::new(buf, 0, want), pos)
                        .await;
                    buf = b.into_inner();
                    r?;
                    let (r, b) = dst.write_all_at(buf, pos).await;
                    buf = b;
                    r?;
                    c += IN_FLIGHT;
                }
                Ok::<(), std::io::Error>(())
            });
        }
        while let Some(r) = set.join_next().await {
            r??;
        }
        dst.sync_data().await?;
        eprintln!("copied {len} bytes from {from} to {to}");
        Ok(())
    })
}
