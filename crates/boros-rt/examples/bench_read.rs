//! Random 4 KiB reads of one file at a fixed number in flight, through the runtime: `--qd`
//! tasks, each looping `read_at` on its own buffer. The same offsets (xorshift64, same seed)
//! and output as the core-only loop `crates/boros/examples/randread.rs`, so the two compare
//! side by side:
//!
//! ```text
//! cargo build --release -p boros --example randread -p boros-rt --example bench_read
//! target/release/examples/randread   --file PATH --qd 64 --seconds 5
//! target/release/examples/bench_read --file PATH --qd 64 --seconds 5 [--fixed]
//! ```
//!
//! Benchmark on ext4 (not tmpfs, where every read goes to io-wq).

use boros_rt::fixed::FixedBufPool;
use boros_rt::fs::File;
use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

struct Args {
    file: String,
    qd: usize,
    seconds: f64,
    block: usize,
    fixed: bool,
}

fn usage() -> ! {
    eprintln!("usage: bench_read --file PATH [--qd 64] [--seconds 5] [--block 4096] [--fixed]");
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut a = Args {
        file: String::new(),
        qd: 64,
        seconds: 5.0,
        block: 4096,
        fixed: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| usage());
        match arg.as_str() {
            "--file" => a.file = value(),
            "--qd" => a.qd = value().parse().unwrap_or_else(|_| usage()),
            "--seconds" => a.seconds = value().parse().unwrap_or_else(|_| usage()),
            "--block" => a.block = value().parse().unwrap_or_else(|_| usage()),
            "--fixed" => a.fixed = true,
            _ => usage(),
        }
    }
    if a.file.is_empty() || a.qd == 0 || a.seconds <= 0.0 {
        usage();
    }
    a
}

/// xorshift64 with randread's seed: the same offsets in the same order.
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
    let args = parse_args();
    let qd = args.qd;
    let sq = (qd as u32).next_power_of_two().max(8);
    let rt = boros_rt::Runtime::with_config(&boros_rt::Config {
        sq_entries: sq,
        cq_entries: sq * 2,
        attach_wq: None,
    })?;
    let (ops, errors, seconds, stats) = rt.block_on(async {
        let file = Rc::new(File::open(&args.file).await?);
        let blocks = file.metadata().await?.len() / args.block as u64;
        if blocks == 0 {
            return Err::<_, Box<dyn std::error::Error>>("file smaller than one block".into());
        }
        let pool = if args.fixed {
            Some(FixedBufPool::new(qd, args.block)?)
        } else {
            None
        };
        let rng = Rc::new(XorShift(Cell::new(0x9E37_79B9_7F4A_7C15)));
        let ops = Rc::new(Cell::new(0u64));
        let errors = Rc::new(Cell::new(0u64));
        let duration = Duration::from_secs_f64(args.seconds);
        let before = boros_rt::stats();
        let started = Instant::now();
        let mut set = boros_rt::JoinSet::new();
        for _ in 0..qd {
            let (file, rng, ops, errors) = (file.clone(), rng.clone(), ops.clone(), errors.clone());
            let block = args.block;
            let mut fixed = pool
                .as_ref()
                .map(|p| p.take().expect("one buffer per task"));
            set.spawn(async move {
                let mut buf = Vec::with_capacity(block);
                let mut n = 0u32;
                loop {
                    let off = (rng.next() % blocks) * block as u64;
                    let r = match fixed.take() {
                        Some(fb) => {
                            let (r, fb) = file.read_fixed_at(fb, off).await;
                            fixed = Some(fb);
                            r
                        }
                        None => {
                            let (r, b) = file.read_at(buf, off).await;
                            buf = b;
                            r
                        }
                    };
                    match r {
                        Ok(n) if n > 0 => ops.set(ops.get() + 1),
                        _ => errors.set(errors.get() + 1),
                    }
                    n += 1;
                    if n % 16 == 0 && started.elapsed() >= duration {
                        break;
                    }
                }
            });
        }
        while let Some(r) = set.join_next().await {
            r?;
        }
        let seconds = started.elapsed().as_secs_f64();
        let after = boros_rt::stats();
        let mut d = after;
        d.driver.enter_calls -= before.driver.enter_calls;
        d.ticks -= before.ticks;
        d.waits -= before.waits;
        Ok((ops.get(), errors.get(), seconds, d))
    })?;
    if errors > 0 {
        eprintln!("bench_read: {errors} reads failed or returned 0 bytes");
    }
    println!(
        "{{\"ops\":{ops},\"fixed\":{},\"seconds\":{seconds:.3},\"ops_per_sec\":{:.0},\"enter_calls\":{},\
         \"enters_per_op\":{:.4},\"ticks\":{},\"waits\":{},\"mode\":\"rand\",\"qd\":{qd},\"block\":{}}}",
        args.fixed,
        ops as f64 / seconds,
        stats.driver.enter_calls,
        stats.driver.enter_calls as f64 / ops.max(1) as f64,
        stats.ticks,
        stats.waits,
        args.block,
    );
    Ok(())
}
