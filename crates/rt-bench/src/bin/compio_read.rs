//! Random 4 KiB reads at 64 in flight on compio: `--qd` tasks looping `read_at` on one file,
//! the same offsets and JSON line as `bench_read` (boros-rt).

use compio::io::AsyncReadAt;
use rt_bench::{print_reads, read_args, XorShift};
use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

fn main() -> std::io::Result<()> {
    let a = read_args("compio_read");
    let rt = compio::runtime::Runtime::new()?;
    let (ops, secs) = rt.block_on(async move {
        let f = Rc::new(compio::fs::File::open(&a.file).await.expect("open"));
        let blocks = std::fs::metadata(&a.file).expect("stat").len() / 4096;
        let rng = Rc::new(XorShift::default());
        let ops = Rc::new(Cell::new(0u64));
        let deadline = Instant::now() + Duration::from_secs_f64(a.seconds);
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..a.qd {
            let (f, rng, ops) = (f.clone(), rng.clone(), ops.clone());
            tasks.push(compio::runtime::spawn(async move {
                let mut buf = Vec::with_capacity(4096);
                while Instant::now() < deadline {
                    let off = (rng.next_u64() % blocks) * 4096;
                    buf.clear();
                    let compio::BufResult(r, b) = f.read_at(buf, off).await;
                    buf = b;
                    if matches!(r, Ok(n) if n > 0) {
                        ops.set(ops.get() + 1);
                    }
                }
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
        (ops.get(), started.elapsed().as_secs_f64())
    });
    print_reads(ops, secs, a.qd);
    Ok(())
}
