//! `boros_rt::fs::copy` against `std::fs::copy` of the same file, alternating, as JSON lines.
//!   copy_bench SOURCE DEST_DIR [ROUNDS (3)]

use std::time::Instant;

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(src), Some(dir)) = (args.first(), args.get(1)) else {
        eprintln!("usage: copy_bench SOURCE DEST_DIR [ROUNDS]");
        std::process::exit(2);
    };
    let rounds: usize = args.get(2).and_then(|v| v.parse().ok()).unwrap_or(3);
    let len = std::fs::metadata(src)?.len();
    let dst = std::path::Path::new(dir).join("rt-bench-copy.out");
    let _ = std::fs::read(src)?; // cached
    let rt = boros_rt::Runtime::new()?;
    // Each copy starts with no dirty pages (the previous copy's writeback would land on the
    // next one), and the two take turns going first.
    let settle = || {
        let _ = std::fs::remove_file(&dst);
        // SAFETY: sync takes no arguments.
        unsafe { libc::sync() };
    };
    let time_boros = || -> std::io::Result<f64> {
        settle();
        let t = Instant::now();
        let n = rt.block_on(boros_rt::fs::copy(src, &dst))?;
        assert_eq!(n, len);
        Ok(t.elapsed().as_secs_f64())
    };
    let time_std = || -> std::io::Result<f64> {
        settle();
        let t = Instant::now();
        let n = std::fs::copy(src, &dst)?;
        assert_eq!(n, len);
        Ok(t.elapsed().as_secs_f64())
    };
    for round in 1..=rounds {
        let (boros, std) = if round % 2 == 1 {
            let b = time_boros()?;
            (b, time_std()?)
        } else {
            let s = time_std()?;
            (time_boros()?, s)
        };
        println!(
            "{{\"round\":{round},\"bytes\":{len},\"boros_rt_s\":{boros:.3},\"std_s\":{std:.3},\"boros_rt_mib_s\":{:.0},\"std_mib_s\":{:.0}}}",
            len as f64 / boros / 1048576.0,
            len as f64 / std / 1048576.0
        );
    }
    let _ = std::fs::remove_file(&dst);
    Ok(())
}
