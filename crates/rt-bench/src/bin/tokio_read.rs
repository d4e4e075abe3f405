//! Random 4 KiB reads of one file at a fixed number in flight, on tokio's `current_thread`
//! runtime: `--qd` tasks, each reading at its own offsets with `tokio::fs` semantics (every
//! read is a blocking `pread` on tokio's blocking pool, which is how `tokio::fs` works). The
//! same offsets (xorshift64, same seed) and the same JSON line as `bench_read` (boros-rt) and
//! `randread` (the raw boros driver), so the three compare side by side (see `run.sh`).

use std::cell::Cell;
use std::os::unix::fs::FileExt;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

struct XorShift(Cell<u64>);

impl XorShift {
    fn next(&self) -> u64 {
        let mut x = self.0.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0.set(x);
        x
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (mut file, mut qd, mut seconds, block) = (String::new(), 64usize, 5.0f64, 4096usize);
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut v = || it.next().ok_or("missing value");
        match a.as_str() {
            "--file" => file = v()?,
            "--qd" => qd = v()?.parse()?,
            "--seconds" => seconds = v()?.parse()?,
            _ => {
                return Err(format!(
                    "usage: tokio_read --file PATH [--qd 64] [--seconds 5]; unknown {a}"
                )
                .into())
            }
        }
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(qd.max(1))
        .build()?;
    let local = tokio::task::LocalSet::new();
    let (ops, secs) = local.block_on(&rt, async move {
        let f = Arc::new(std::fs::File::open(&file).expect("open"));
        let blocks = f.metadata().expect("stat").len() / block as u64;
        let rng = Rc::new(XorShift(Cell::new(0x9E37_79B9_7F4A_7C15)));
        let ops = Rc::new(Cell::new(0u64));
        let deadline = Instant::now() + Duration::from_secs_f64(seconds);
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..qd {
            let (f, rng, ops) = (f.clone(), rng.clone(), ops.clone());
            tasks.push(tokio::task::spawn_local(async move {
                let mut buf = vec![0u8; block];
                while Instant::now() < deadline {
                    let off = (rng.next() % blocks) * block as u64;
                    let f2 = f.clone();
                    let (b, n) = tokio::task::spawn_blocking(move || {
                        let n = f2.read_at(&mut buf, off).unwrap_or(0);
                        (buf, n)
                    })
                    .await
                    .expect("read task");
                    buf = b;
                    if n > 0 {
                        ops.set(ops.get() + 1);
                    }
                }
            }));
        }
        for t in tasks {
            t.await.expect("task");
        }
        (ops.get(), started.elapsed().as_secs_f64())
    });
    println!(
        "{{\"ops\":{ops},\"seconds\":{secs:.3},\"ops_per_sec\":{:.0},\"mode\":\"rand\",\"qd\":{qd},\"block\":{block}}}",
        ops as f64 / secs
    );
    Ok(())
}
