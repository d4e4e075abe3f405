//! Spawn N tasks into a JoinSet and collect them with `join_next`, on boros-rt and on tokio's
//! current_thread runtime (`tokio::task::JoinSet`): the time of each, as JSON lines.
//!   joinset [N (100000)] [boros-rt|tokio|both (both)]
//! run.sh runs each contender in a process of its own (a fresh heap for each: in one process
//! the second contender reuses the pages the first one faulted in).

use std::time::Instant;

fn main() -> std::io::Result<()> {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let which = std::env::args().nth(2).unwrap_or_else(|| "both".to_owned());
    if which == "boros-rt" || which == "both" {
        let ms = boros(n)?;
        println!("{{\"tasks\":{n},\"boros_rt_ms\":{ms:.2}}}");
    }
    if which == "tokio" || which == "both" {
        let ms = tokio(n)?;
        println!("{{\"tasks\":{n},\"tokio_ms\":{ms:.2}}}");
    }
    Ok(())
}

fn boros(n: u64) -> std::io::Result<f64> {
    // Set up before the clock starts, as tokio's runtime is.
    let rt = boros_rt::Runtime::new()?;
    let t = Instant::now();
    let sum = rt.block_on(async {
        let mut set = boros_rt::JoinSet::new();
        for i in 0..n {
            set.spawn(async move { i });
        }
        let mut sum = 0u64;
        while let Some(r) = set.join_next().await {
            sum += r.expect("task");
        }
        sum
    });
    let ms = t.elapsed().as_secs_f64() * 1e3;
    assert_eq!(sum, n * (n - 1) / 2);
    Ok(ms)
}

fn tokio(n: u64) -> std::io::Result<f64> {
    let rt = tokio::runtime::Builder::new_current_thread().build()?;
    let t = Instant::now();
    let sum = rt.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        for i in 0..n {
            set.spawn(async move { i });
        }
        let mut sum = 0u64;
        while let Some(r) = set.join_next().await {
            sum += r.expect("task");
        }
        sum
    });
    let ms = t.elapsed().as_secs_f64() * 1e3;
    assert_eq!(sum, n * (n - 1) / 2);
    Ok(ms)
}
