//! A closed-loop HTTP/1.1 keep-alive load generator: `--conns` connections, each with one
//! `GET /` in flight, for `--seconds`; counts responses (status line + `Content-Length`
//! body). Runs on the boros core's runtime (boros-rt) on one thread.
//!   http_load --addr 127.0.0.1:7000 [--conns 64] [--seconds 5]

use boros_rt::net::TcpStream;
use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

fn find(h: &[u8], needle: &[u8]) -> Option<usize> {
    h.windows(needle.len()).position(|w| w == needle)
}

/// Bytes of one whole response at the start of `buf`, if it is all there.
fn response_len(buf: &[u8]) -> Option<usize> {
    let end = find(buf, b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&buf[..end]).ok()?;
    let len = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    (buf.len() >= end + len).then_some(end + len)
}

fn main() -> std::io::Result<()> {
    let (mut addr, mut conns, mut secs) = ("127.0.0.1:7000".to_owned(), 64usize, 5.0f64);
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let v = it.next().unwrap_or_default();
        match k.as_str() {
            "--addr" => addr = v,
            "--conns" => conns = v.parse().unwrap_or(64),
            "--seconds" => secs = v.parse().unwrap_or(5.0),
            _ => {
                eprintln!("usage: http_load --addr HOST:PORT [--conns 64] [--seconds 5]");
                std::process::exit(2);
            }
        }
    }
    let done = Rc::new(Cell::new(0u64));
    let errors = Rc::new(Cell::new(0u64));
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(secs);
    boros_rt::block_on(async {
        let mut set = boros_rt::JoinSet::new();
        for _ in 0..conns {
            let (addr, done, errors) = (addr.clone(), done.clone(), errors.clone());
            set.spawn(async move {
                let Ok(s) = TcpStream::connect(addr.as_str()).await else {
                    errors.set(errors.get() + 1);
                    return;
                };
                let _ = s.set_nodelay(true);
                let req: &'static [u8] = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n";
                let mut acc: Vec<u8> = Vec::with_capacity(4096);
                let mut buf = Vec::with_capacity(4096);
                while Instant::now() < deadline {
                    let (r, _) = s.write_all(req).await;
                    if r.is_err() {
                        errors.set(errors.get() + 1);
                        return;
                    }
                    loop {
                        if let Some(n) = response_len(&acc) {
                            if !acc.starts_with(b"HTTP/1.1 200") {
                                errors.set(errors.get() + 1);
                            }
                            acc.drain(..n);
                            break;
                        }
                        let (n, b) = s.read(buf).await;
                        match n {
                            Ok(n) if n > 0 => acc.extend_from_slice(&b),
                            _ => {
                                errors.set(errors.get() + 1);
                                return;
                            }
                        }
                        buf = b;
                    }
                    done.set(done.get() + 1);
                }
            });
        }
        while set.join_next().await.is_some() {}
    });
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "http_load: {conns} conns, {elapsed:.2} s: {} responses, {:.0} req/s, errors {}",
        done.get(),
        done.get() as f64 / elapsed,
        errors.get()
    );
    if done.get() == 0 || errors.get() > 0 {
        std::process::exit(1);
    }
    Ok(())
}
