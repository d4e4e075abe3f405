//! A load generator for echo servers, on the boros core alone (one ring, one thread):
//! N connections, each sending a message of S bytes and waiting for all S bytes to come
//! back before sending the next (closed loop). Prints requests/s, latency percentiles and
//! the client's own CPU seconds.
//!
//! ```sh
//! cargo run --release -p boros --example echo_server -- --seconds 10 &
//! cargo run --release -p boros --example echo_client -- --conns 64 --size 64 --seconds 5
//! ```

mod common;

use common::token;

use boros::{op, Completion, Driver, SockAddr};
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

const USAGE: &str = "\
echo_client: closed-loop load for an echo server, on one io_uring ring and one thread

Usage: echo_client [options]
  --addr HOST:PORT   server address (default 127.0.0.1:7878)
  --unix PATH        connect to a Unix stream socket instead (a leading @ means abstract)
  --conns N          connections, each with one request in flight (default 64)
  --size BYTES       message size (default 64)
  --seconds N        measuring time (default 5)
  --dump PATH        also write every request to PATH, 12 bytes each, little-endian u32s:
                     connection index, end (us after the measurement's start), latency (us);
                     the measurement's start as Unix time (us) goes to stderr
  --help             this text

Prints requests/s, p50/p99/max latency (send to last byte back) and client CPU seconds.";

struct Args {
    addr: SockAddr,
    conns: usize,
    size: usize,
    seconds: f64,
    dump: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        addr: common::default_addr(),
        conns: 64,
        size: 64,
        seconds: 5.0,
        dump: None,
    };
    common::each_arg(USAGE, |arg, val| {
        match arg {
            "--addr" | "--unix" => a.addr = common::addr(arg, &val()?)?,
            "--conns" => a.conns = common::parse(arg, val()?)?,
            "--size" => a.size = common::parse(arg, val()?)?,
            "--seconds" => a.seconds = common::parse(arg, val()?)?,
            "--dump" => a.dump = Some(val()?),
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    if a.conns == 0 || a.size == 0 {
        return Err("--conns and --size must be positive".into());
    }
    Ok(a)
}

const CONNECT: u64 = 0;
const SEND: u64 = 1;
const RECV: u64 = 2;

struct Conn {
    fd: OwnedFd,
    /// The message; lent to a send while one is in flight.
    msg: Option<Vec<u8>>,
    /// The receive buffer; lent to a recv while one is in flight.
    rbuf: Option<Vec<u8>>,
    received: usize,
    started: Instant,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args().unwrap_or_else(|e| {
        eprintln!("{e}\n\n{USAGE}");
        std::process::exit(2);
    });
    let mut d = Driver::new()?;
    let family = args.addr.family();
    let mut conns = Vec::with_capacity(args.conns);
    for i in 0..args.conns {
        let fd = boros::net::socket(family, libc::SOCK_STREAM, 0)?;
        if family != libc::AF_UNIX {
            boros::net::setsockopt_int(fd.as_raw_fd(), libc::IPPROTO_TCP, libc::TCP_NODELAY, 1)?;
        }
        d.push(
            Box::new(op::Connect::new(fd.as_raw_fd(), args.addr.clone())),
            token(i, CONNECT),
        )?;
        let msg: Vec<u8> = (0..args.size).map(|j| (i + j) as u8).collect();
        conns.push(Conn {
            fd,
            msg: Some(msg),
            rbuf: Some(Vec::with_capacity(args.size)),
            received: 0,
            started: Instant::now(),
        });
    }
    let mut latencies: Vec<u32> = Vec::with_capacity(1 << 20);
    // With --dump: (connection, end, latency) of every request, for docs/net.md's tail probes.
    let mut dump: Vec<[u32; 3]> = Vec::new();
    let cpu0 = common::cpu_seconds();
    let mut start = Instant::now();
    let mut connected = 0;
    let mut deadline = None::<Instant>;
    let mut done = false;
    let mut batch: Vec<Completion> = Vec::with_capacity(1024);
    while !done || d.in_flight() > 0 {
        d.wait(1, Some(Duration::from_millis(100)))?;
        d.reap(boros::completions(|c| batch.push(c)))?;
        for mut c in batch.drain(..) {
            let idx = (c.token >> 2) as usize;
            let conn = &mut conns[idx];
            let fd = conn.fd.as_raw_fd();
            match c.token & 3 {
                CONNECT => {
                    if let Err(e) = c.result() {
                        return Err(format!("connect {:?}: {e}", args.addr).into());
                    }
                    connected += 1;
                    if connected == args.conns {
                        // Everyone is connected: the measurement starts now.
                        start = Instant::now();
                        if args.dump.is_some() {
                            let unix = std::time::SystemTime::now()
                                .duration_since(std::time::UNIX_EPOCH)
                                .unwrap_or_default();
                            eprintln!("echo_client: start {} us", unix.as_micros());
                        }
                        deadline = Some(start + Duration::from_secs_f64(args.seconds));
                        for (i, c) in conns.iter_mut().enumerate() {
                            c.started = Instant::now();
                            let msg = c.msg.take().unwrap();
                            d.push(
                                Box::new(op::Send::new(c.fd.as_raw_fd(), msg)),
                                token(i, SEND),
                            )?;
                        }
                    }
                }
                SEND => {
                    let send = c.take_op::<op::Send<Vec<u8>>>().unwrap();
                    let n = c.result().map_err(|e| format!("send: {e}"))? as usize;
                    let off = send.offset() + n;
                    let msg = send.into_buf();
                    if off < msg.len() {
                        d.push(
                            Box::new(op::Send::new(fd, msg).with_offset(off)),
                            token(idx, SEND),
                        )?;
                        continue;
                    }
                    conn.msg = Some(msg);
                    let rbuf = conn.rbuf.take().unwrap();
                    d.push(Box::new(op::Recv::new(fd, rbuf)), token(idx, RECV))?;
                }
                RECV => {
                    let n = c.result().map_err(|e| format!("recv: {e}"))?;
                    if n == 0 {
                        return Err("the server closed a connection".into());
                    }
                    let mut rbuf = c.take_op::<op::Recv<Vec<u8>>>().unwrap().into_buf(n);
                    let msg = conn.msg.as_ref().unwrap();
                    let got = &rbuf[..n as usize];
                    if got != &msg[conn.received..conn.received + got.len()] {
                        return Err("the echo differs from what was sent".into());
                    }
                    conn.received += n as usize;
                    rbuf.clear();
                    if conn.received < args.size {
                        rbuf.reserve(args.size - conn.received);
                        d.push(Box::new(op::Recv::new(fd, rbuf)), token(idx, RECV))?;
                        continue;
                    }
                    conn.rbuf = Some(rbuf);
                    let now = Instant::now();
                    let us = (now - conn.started).as_micros().min(u32::MAX as u128) as u32;
                    latencies.push(us);
                    if args.dump.is_some() {
                        let end = (now - start).as_micros().min(u32::MAX as u128) as u32;
                        dump.push([idx as u32, end, us]);
                    }
                    conn.received = 0;
                    if deadline.is_some_and(|t| now >= t) {
                        done = true;
                        continue;
                    }
                    conn.started = now;
                    let msg = conn.msg.take().unwrap();
                    d.push(Box::new(op::Send::new(fd, msg)), token(idx, SEND))?;
                }
                _ => unreachable!(),
            }
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    if let Some(path) = &args.dump {
        let bytes: Vec<u8> = dump
            .iter()
            .flatten()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        std::fs::write(path, bytes).map_err(|e| format!("--dump {path}: {e}"))?;
    }
    let cpu = common::cpu_seconds() - cpu0;
    latencies.sort_unstable();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "echo_client: {} conns x {} B, {:.2} s: {} requests, {:.0} req/s, latency p50 {} us, p99 {} us, max {} us, client CPU {:.2} s",
        args.conns,
        args.size,
        elapsed,
        latencies.len(),
        latencies.len() as f64 / elapsed,
        pct(0.50),
        pct(0.99),
        latencies.last().unwrap(),
        cpu
    );
    Ok(())
}
