//! Spawn N tasks into a JoinSet and collect them with `join_next`, on boros-rt and on tokio's
//! current_thread runtime (`tokio::task::JoinSet`): the time of each, as JSON lines.
//!   joinset [N (100000)]

use std::time::Instant;

fn main() -> std::io::Result<()> {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let t = Instant::now();
    let sum = boros_rt::block_on(async {
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
    let boros = t.elapsed().as_secs_f64();
    assert_eq!(sum, n * (n - 1) / 2);
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
    let tokio = t.elapsed().as_secs_f64();
    assert_eq!(sum, n * (n - 1) / 2);
    println!(
        "{{\"tasks\":{n},\"boros_rt_ms\":{:.2},\"tokio_ms\":{:.2}}}",
        boros * 1e3,
        tokio * 1e3
    );
    Ok(())
}
