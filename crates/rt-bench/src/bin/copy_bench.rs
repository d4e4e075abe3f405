//! `boros_rt::fs::copy` against `std::fs::copy` of the same file, alternating, as JSON lines.
//!   copy_bench SOURCE DEST_DIR [ROUNDS (3)]
//!
//! Every timed copy starts from the same state: no dirty pages of ours, and page-cache
//! memory that was just in use. The second matters on a
//! virtual machine whose balloon reports free memory to the host (virtio-balloon free page
//! reporting, about 2 s after the memory is freed): the host then takes those pages back,
//! and the next copy that lands its 1 GiB of page cache on them pays a host fault per page,
//! inside `copy_file_range`'s memcpy, which doubles to sextuples its CPU time. So each timed
//! copy is preceded (after a `sync`) by an untimed `std::fs::copy` whose output is removed at
//! once: the timed copy reuses the pages that copy just freed. Each line also gives the process's CPU time
//! (user + system, all threads) for the copy, and which contender went first.

use std::time::Instant;

fn cpu_s() -> f64 {
    // SAFETY: all-zero is a valid rusage.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes into the struct we pass, which is ours.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let t = |v: libc::timeval| v.tv_sec as f64 + v.tv_usec as f64 / 1e6;
    t(ru.ru_utime) + t(ru.ru_stime)
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(src), Some(dir)) = (args.first(), args.get(1)) else {
        eprintln!("usage: copy_bench SOURCE DEST_DIR [ROUNDS]");
        std::process::exit(2);
    };
    let rounds: usize = args.get(2).and_then(|v| v.parse().ok()).unwrap_or(3);
    let len = std::fs::metadata(src)?.len();
    let dst = std::path::Path::new(dir).join("rt-bench-copy.out");
    // Cached, through a small buffer: reading it into one 1 GiB Vec would free 1 GiB just
    // before the first round (see above).
    std::io::copy(&mut std::fs::File::open(src)?, &mut std::io::sink())?;
    let rt = boros_rt::Runtime::new()?;
    let settle = || {
        let _ = std::fs::remove_file(&dst);
        // SAFETY: sync takes no arguments.
        unsafe { libc::sync() };
    };
    // Returns (wall s, CPU s) of one timed copy, after an untimed one (see the module doc).
    let timed = |copy: &dyn Fn() -> std::io::Result<u64>| -> std::io::Result<(f64, f64)> {
        settle();
        std::fs::copy(src, &dst)?;
        // No sync here: removing the file drops its dirty pages unwritten, and a sync would
        // also wait for every other process's writeback, long enough for the freed pages
        // to be reported to the host.
        std::fs::remove_file(&dst)?;
        let (t, c) = (Instant::now(), cpu_s());
        let n = copy()?;
        let wall = t.elapsed().as_secs_f64();
        assert_eq!(n, len);
        Ok((wall, cpu_s() - c))
    };
    let boros = || rt.block_on(boros_rt::fs::copy(src, &dst));
    let std = || std::fs::copy(src, &dst);
    // One untimed copy of each first: the first copy in a process was the slow one more often.
    timed(&boros)?;
    timed(&std)?;
    for round in 1..=rounds {
        let boros_first = round % 2 == 1;
        let ((b, bc), (s, sc)) = if boros_first {
            let b = timed(&boros)?;
            (b, timed(&std)?)
        } else {
            let s = timed(&std)?;
            (timed(&boros)?, s)
        };
        println!(
            "{{\"round\":{round},\"bytes\":{len},\"first\":\"{}\",\"boros_rt_s\":{b:.3},\"std_s\":{s:.3},\"boros_rt_cpu_s\":{bc:.3},\"std_cpu_s\":{sc:.3},\"boros_rt_mib_s\":{:.0},\"std_mib_s\":{:.0}}}",
            if boros_first { "boros-rt" } else { "std" },
            len as f64 / b / 1048576.0,
            len as f64 / s / 1048576.0
        );
    }
    let _ = std::fs::remove_file(&dst);
    Ok(())
}
