//! An echo server on the boros core alone: one ring, one thread, a multishot accept, one
//! multishot recv per connection into a shared provided-buffer ring, and the sends of each
//! reap batch submitted together with the next wait (one `io_uring_enter`).
//!
//! This is the native ceiling for the `node:net` vs `boros/net` echo benchmarks; drive it
//! with the `echo_client` example.
//!
//! ```sh
//! cargo run --release -p boros --example echo_server -- --addr 127.0.0.1:7878
//! ```

mod common;

use common::token;

use boros::{net, op, BufRing, Completion, Driver, SockAddr};
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::rc::Rc;
use std::time::{Duration, Instant};

const USAGE: &str = "\
echo_server: echo every byte back, on one io_uring ring and one thread

Usage: echo_server [options]
  --addr HOST:PORT   TCP address to listen on (default 127.0.0.1:7878)
  --unix PATH        listen on a Unix stream socket instead (a leading @ means abstract)
  --bufs N           provided buffers in the shared ring, a power of two (default 1024)
  --buf-size BYTES   size of each provided buffer (default 4096)
  --bundle           receive with recv bundles (Linux 6.10+)
  --min-wait-us US   each wait returns after US microseconds with what has completed, or
                     as soon as --wait-nr completions are in (IORING_ENTER_EXT_ARG
                     min_wait_usec, Linux 6.12+; default 0: return at the first)
  --wait-nr N        completions a --min-wait-us wait asks for (default 32)
  --fixed-files      put each connection in the ring's file table and name it by slot in its
                     recv and sends (no descriptor look-up per op)
  --dontwait         send with MSG_DONTWAIT (a full socket buffer fails the send instead
                     of arming a poll; the echo then closes that connection)
  --seconds N        exit after N seconds and print counters (default: run until killed)
  --help             this text";

struct Args {
    addr: SockAddr,
    bufs: u16,
    buf_size: u32,
    bundle: bool,
    min_wait_us: u32,
    wait_nr: u32,
    dontwait: bool,
    fixed_files: bool,
    seconds: Option<u64>,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        addr: common::default_addr(),
        bufs: 1024,
        buf_size: 4096,
        bundle: false,
        min_wait_us: 0,
        wait_nr: 32,
        dontwait: false,
        fixed_files: false,
        seconds: None,
    };
    common::each_arg(USAGE, |arg, val| {
        match arg {
            "--addr" | "--unix" => a.addr = common::addr(arg, &val()?)?,
            "--bufs" => a.bufs = common::parse(arg, val()?)?,
            "--buf-size" => a.buf_size = common::parse(arg, val()?)?,
            "--bundle" => a.bundle = true,
            "--min-wait-us" => a.min_wait_us = common::parse(arg, val()?)?,
            "--wait-nr" => a.wait_nr = common::parse(arg, val()?)?,
            "--dontwait" => a.dontwait = true,
            "--fixed-files" => a.fixed_files = true,
            "--seconds" => a.seconds = Some(common::parse(arg, val()?)?),
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    Ok(a)
}

/// Token layout: connection index << 2 | kind.
const ACCEPT: u64 = 0;
const RECV: u64 = 1;
const SEND: u64 = 2;
const CLOSE: u64 = 3;

struct Conn {
    fd: RawFd,
    /// Its slot in the ring's file table (`--fixed-files`).
    slot: Option<u32>,
    /// Bytes received and not yet handed to a send.
    out: Vec<u8>,
    /// A buffer to swap in for `out` when a send takes it.
    spare: Vec<u8>,
    sending: bool,
    recv_armed: bool,
    closing: bool,
}

struct Server {
    d: Driver,
    ring: Rc<BufRing>,
    bundle: bool,
    send_flags: i32,
    fixed_files: bool,
    conns: Vec<Option<Conn>>,
    free: Vec<usize>,
    /// Connections that got data or finished a send in this batch.
    dirty: Vec<usize>,
    accepted: u64,
    bytes: u64,
}

impl Server {
    fn arm_recv(&mut self, idx: usize) {
        let c = self.conns[idx].as_mut().unwrap();
        c.recv_armed = true;
        let op = op::RecvMulti::new(target(c), self.ring.clone()).bundle(self.bundle);
        self.d
            .push(Box::new(op), token(idx, RECV))
            .expect("push recv");
    }

    fn on_completion(&mut self, listener: RawFd, mut c: Completion) {
        let idx = (c.token >> 2) as usize;
        match c.token & 3 {
            ACCEPT => {
                if c.result >= 0 {
                    // SAFETY: the CQE's descriptor is new and ours.
                    let fd = unsafe { OwnedFd::from_raw_fd(c.result) };
                    let _ = net::setsockopt_int(
                        fd.as_raw_fd(),
                        libc::IPPROTO_TCP,
                        libc::TCP_NODELAY,
                        1,
                    );
                    let slot = if self.fixed_files {
                        self.d.install_file(fd.as_raw_fd())
                    } else {
                        None
                    };
                    let conn = Conn {
                        slot,
                        fd: fd.into_raw_fd(),
                        out: Vec::with_capacity(self.ring.buf_size() as usize),
                        spare: Vec::with_capacity(self.ring.buf_size() as usize),
                        sending: false,
                        recv_armed: false,
                        closing: false,
                    };
                    let i = match self.free.pop() {
                        Some(i) => {
                            self.conns[i] = Some(conn);
                            i
                        }
                        None => {
                            self.conns.push(Some(conn));
                            self.conns.len() - 1
                        }
                    };
                    self.accepted += 1;
                    self.arm_recv(i);
                } else if c.is_final() && c.result != -libc::ECANCELED {
                    eprintln!("accept: {}", std::io::Error::from_raw_os_error(-c.result));
                }
                if c.is_final() {
                    // Ended (CQ overflow, error): re-arm; the backlog kept the connections.
                    self.d
                        .push(Box::new(op::AcceptMulti::new(listener)), token(0, ACCEPT))
                        .expect("push accept");
                }
            }
            RECV => {
                let conn = self.conns[idx].as_mut().unwrap();
                let mut got = 0;
                if self.bundle {
                    for l in self.ring.lease_bundle(&c) {
                        conn.out.extend_from_slice(&l);
                        got += l.len();
                    }
                } else if let Some(l) = self.ring.lease(&c) {
                    conn.out.extend_from_slice(&l);
                    got = l.len();
                }
                self.bytes += got as u64;
                if got > 0 {
                    self.dirty.push(idx);
                }
                if c.is_final() {
                    conn.recv_armed = false;
                    if c.result == -libc::ENOBUFS || c.result > 0 {
                        // Buffers are back (leases dropped above): go on reading.
                        self.arm_recv(idx);
                    } else {
                        // End of stream or an error: finish pending sends, then close.
                        conn.closing = true;
                        self.dirty.push(idx);
                    }
                }
            }
            SEND => {
                let conn = self.conns[idx].as_mut().unwrap();
                conn.sending = false;
                let send = c.take_op::<op::Send<Vec<u8>>>().unwrap();
                let off = send.offset();
                let mut buf = send.into_buf();
                match c.result() {
                    Ok(n) if off + (n as usize) < buf.len() => {
                        // Short send: the rest goes first, before newer data.
                        buf.drain(..off + n as usize);
                        buf.extend_from_slice(&conn.out);
                        conn.out.clear();
                        std::mem::swap(&mut conn.out, &mut buf);
                    }
                    Ok(_) => {}
                    Err(_) => {
                        conn.closing = true;
                        conn.out.clear();
                    }
                }
                buf.clear();
                conn.spare = buf;
                self.dirty.push(idx);
            }
            CLOSE => {
                if let Some(slot) = self.conns[idx].as_ref().and_then(|c| c.slot) {
                    self.d.remove_file(slot);
                }
                self.conns[idx] = None;
                self.free.push(idx);
            }
            _ => unreachable!(),
        }
    }

    /// One send per connection with pending data; closes finished connections.
    fn flush(&mut self) {
        let mut dirty = std::mem::take(&mut self.dirty);
        dirty.sort_unstable();
        dirty.dedup();
        for &idx in &dirty {
            let Some(conn) = self.conns[idx].as_mut() else {
                continue;
            };
            if !conn.sending && !conn.out.is_empty() {
                let spare = std::mem::take(&mut conn.spare);
                let data = std::mem::replace(&mut conn.out, spare);
                conn.sending = true;
                let t = target(conn);
                self.d
                    .push(
                        Box::new(op::Send::new(t, data).flags(self.send_flags)),
                        token(idx, SEND),
                    )
                    .expect("push send");
            } else if conn.closing && !conn.sending && !conn.recv_armed {
                conn.sending = true; // nothing more may be pushed for it
                let fd = conn.fd;
                self.d
                    .push(Box::new(op::Close::new(fd)), token(idx, CLOSE))
                    .expect("push close");
            }
        }
        self.dirty = dirty;
        self.dirty.clear();
    }
}

/// What a connection's ops name: its file-table slot, or its descriptor.
fn target(c: &Conn) -> op::Target {
    match c.slot {
        Some(slot) => op::Target::Fixed(slot),
        None => op::Target::Fd(c.fd),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args().unwrap_or_else(|e| {
        eprintln!("{e}\n\n{USAGE}");
        std::process::exit(2);
    });
    let mut d = Driver::new()?;
    // This loop blocks in `wait` and never reads the eventfd: no signal at every completion.
    d.unregister_eventfd()?;
    if args.bundle && !net::recv_bundles(d.info()) {
        return Err("--bundle: this kernel has no recv bundles (Linux 6.10+)".into());
    }
    let listener = net::socket(args.addr.family(), libc::SOCK_STREAM, 0)?;
    if args.addr.family() != libc::AF_UNIX {
        net::setsockopt_int(
            listener.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_REUSEADDR,
            1,
        )?;
    } else if let Some(p) = args.addr.as_unix_path() {
        let _ = std::fs::remove_file(p);
    }
    net::bind(listener.as_raw_fd(), &args.addr)?;
    net::listen(listener.as_raw_fd(), 4096)?;
    if args.min_wait_us > 0 && !d.info().min_wait {
        return Err(format!(
            "--min-wait-us: kernel {} has no IORING_FEAT_MIN_TIMEOUT (Linux 6.12+)",
            d.info().kernel
        )
        .into());
    }
    let ring = d.register_buf_ring(args.bufs, args.buf_size)?;
    eprintln!(
        "echo_server listening on {:?} (kernel {}, {} x {} B buffers{})",
        net::local_addr(listener.as_raw_fd())?,
        d.info().kernel,
        args.bufs,
        args.buf_size,
        if args.bundle { ", recv bundles" } else { "" }
    );
    d.push(
        Box::new(op::AcceptMulti::new(listener.as_raw_fd())),
        token(0, ACCEPT),
    )?;
    let mut s = Server {
        d,
        ring,
        bundle: args.bundle,
        send_flags: if args.dontwait { libc::MSG_DONTWAIT } else { 0 },
        fixed_files: args.fixed_files,
        conns: Vec::new(),
        free: Vec::new(),
        dirty: Vec::new(),
        accepted: 0,
        bytes: 0,
    };
    let start = Instant::now();
    let deadline = args.seconds.map(|n| start + Duration::from_secs(n));
    let mut batch = Vec::with_capacity(1024);
    loop {
        let timeout = deadline.map(|t| t.saturating_duration_since(Instant::now()));
        if timeout == Some(Duration::ZERO) {
            break;
        }
        // Submits every send queued by the last batch and waits, in one io_uring_enter.
        s.d.wait_min(
            args.wait_nr,
            Duration::from_micros(args.min_wait_us.into()),
            timeout,
        )?;
        s.d.reap(boros::completions(|c| batch.push(c)))?;
        for c in batch.drain(..) {
            s.on_completion(listener.as_raw_fd(), c);
        }
        s.flush();
    }
    let st = s.d.stats();
    println!(
        "echo_server: {:.1} s, {} connections, {} bytes echoed, {} io_uring_enter calls, {:.2} CPU s",
        start.elapsed().as_secs_f64(),
        s.accepted,
        s.bytes,
        st.enter_calls,
        common::cpu_seconds()
    );
    for c in s.conns.iter().flatten() {
        // SAFETY: the descriptor is ours; the driver (dropped after this) cancels its ops.
        drop(unsafe { OwnedFd::from_raw_fd(c.fd) });
    }
    Ok(())
}
