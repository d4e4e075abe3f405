//! The native ceiling for the benchmarks: one thread, one boros [`Driver`], reads of one file
//! kept at a fixed queue depth for a fixed time.
//!
//! Usage:
//!
//! ```text
//! cargo build --release -p boros --example randread
//! target/release/examples/randread --file PATH [--qd 64] [--seconds 5] [--block 4096] [--seq] [--fixed]
//! ```
//!
//! Random mode (the default) reads `--block` bytes (4 KiB) at block-aligned offsets drawn from
//! a xorshift64 generator with a fixed seed, so every run reads the same offsets. `--seq` reads
//! the file front to back (wrapping at its end) in blocks of 1 MiB unless `--block` is given,
//! and also reports MB/s (10^6 bytes per second). `--fixed` registers the buffers with the
//! ring and reads with `READ_FIXED` (the kernel skips pinning and mapping pages per read).
//!
//! The loop: push reads until `--qd` are in flight, submit and wait for one completion in a
//! single `io_uring_enter`, reap everything that is ready, push again. Buffers come from a pool
//! allocated up front and are reused; the only allocation per read is the small box holding
//! the op, which the driver's API takes. Prints one JSON line:
//!
//! ```text
//! {"ops":N,"seconds":S,"ops_per_sec":X,"enter_calls":E,"enters_per_op":R,...}
//! ```
//!
//! Benchmark on a real file system (ext4), not tmpfs: tmpfs punts every read to io-wq.

use boros::{op, Config, Driver};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

struct Args {
    file: String,
    qd: usize,
    seconds: f64,
    block: Option<usize>,
    seq: bool,
    fixed: bool,
}

fn usage() -> ! {
    eprintln!(
        "usage: randread --file PATH [--qd 64] [--seconds 5] [--block 4096] [--seq] [--fixed]"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut args = Args {
        file: String::new(),
        qd: 64,
        seconds: 5.0,
        block: None,
        seq: false,
        fixed: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| usage());
        match a.as_str() {
            "--file" => args.file = value(),
            "--qd" => args.qd = value().parse().unwrap_or_else(|_| usage()),
            "--seconds" => args.seconds = value().parse().unwrap_or_else(|_| usage()),
            "--block" => args.block = Some(value().parse().unwrap_or_else(|_| usage())),
            "--seq" => args.seq = true,
            "--fixed" => args.fixed = true,
            _ => usage(),
        }
    }
    if args.file.is_empty() || args.qd == 0 || args.seconds <= 0.0 {
        usage();
    }
    args
}

/// xorshift64, fixed seed: the same offsets every run.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args();
    let block = args.block.unwrap_or(if args.seq { 1 << 20 } else { 4096 });
    let file = std::fs::File::open(&args.file)?;
    let size = file.metadata()?.len();
    let blocks = size / block as u64;
    if blocks == 0 {
        return Err(format!("{} is smaller than one block ({block} bytes)", args.file).into());
    }
    let fd = file.as_raw_fd();
    let qd = args.qd;
    let sq = (qd as u32).next_power_of_two().max(8);
    let mut driver = Driver::with_config(&Config {
        sq_entries: sq,
        cq_entries: sq * 2,
        attach_wq: None,
    })?;

    // Each buffer travels with its index in the ring's buffer table (used with --fixed).
    let mut registered = None;
    let mut pool: Vec<(Vec<u8>, u16)> = (0..qd).map(|i| (vec![0u8; block], i as u16)).collect();
    if args.fixed {
        let iovecs: Vec<libc::iovec> = pool
            .iter_mut()
            .map(|(b, _)| libc::iovec {
                iov_base: b.as_mut_ptr().cast(),
                iov_len: b.len(),
            })
            .collect();
        // SAFETY: the Vecs' heap blocks never move (an op takes a Vec by value and gives the
        // same Vec back) and stay allocated until after `unregister_buffers` below, which runs
        // once no op is in flight.
        let first = unsafe { driver.register_buffers(&iovecs) }
            .map_err(|e| format!("--fixed: registering the buffers failed: {e}"))?;
        for (_, i) in pool.iter_mut() {
            *i += first;
        }
        registered = Some(first);
    }
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut seq_block = 0u64;
    let mut next_offset = || {
        if args.seq {
            let off = seq_block * block as u64;
            seq_block = (seq_block + 1) % blocks;
            off
        } else {
            (rng.next() % blocks) * block as u64
        }
    };

    let (mut ops, mut bytes, mut errors) = (0u64, 0u64, 0u64);
    let duration = Duration::from_secs_f64(args.seconds);
    let before = driver.stats();
    let started = Instant::now();
    let mut running = true;
    while running || driver.in_flight() > 0 {
        if running {
            while let Some((buf, i)) = pool.pop() {
                let read = op::Read::new(fd, buf, next_offset());
                let read = if args.fixed { read.fixed(i) } else { read };
                driver.push(Box::new(read), u64::from(i))?;
            }
        }
        driver.wait(1, None)?;
        driver.reap(boros::completions(|mut c| {
            match c.result() {
                Ok(n) if n > 0 => {
                    ops += 1;
                    bytes += n as u64;
                }
                _ => errors += 1,
            }
            let i = c.token as u16;
            let buf = c
                .take_op::<op::Read<Vec<u8>>>()
                .expect("a read")
                .into_buf(0);
            pool.push((buf, i));
        }))?;
        if running && started.elapsed() >= duration {
            running = false;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    if let Some(first) = registered {
        driver.unregister_buffers(first, qd);
    }
    let stats = driver.stats();
    if errors > 0 {
        eprintln!("randread: {errors} reads failed or returned 0 bytes");
    }
    let enters = stats.enter_calls - before.enter_calls;
    let fixed = args.fixed;
    let mut line = format!(
        "{{\"ops\":{ops},\"fixed\":{fixed},\"seconds\":{seconds:.3},\"ops_per_sec\":{:.0},\"enter_calls\":{enters},\
         \"enters_per_op\":{:.4},\"mode\":\"{}\",\"qd\":{qd},\"block\":{block},\"bytes\":{bytes}",
        ops as f64 / seconds,
        enters as f64 / ops.max(1) as f64,
        if args.seq { "seq" } else { "rand" },
    );
    if args.seq {
        line.push_str(&format!(
            ",\"mb_per_sec\":{:.1}",
            bytes as f64 / seconds / 1e6
        ));
    }
    line.push('}');
    println!("{line}");
    Ok(())
}
