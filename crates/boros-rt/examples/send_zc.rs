//! `IORING_OP_SEND` against `IORING_OP_SEND_ZC` for large buffers over loopback: what a
//! zero-copy send of a large HTTP body would save (docs/http.md, "No N-API call per
//! response"). One connection; the sender sends COUNT buffers of SIZE bytes one after the
//! other (`write_all`, or `send_zc` and its notification), a blocking reader thread reads and
//! drops them; rounds alternate the order. Prints CPU per send of the sender thread, the
//! reader thread and the rest of the process (io-wq workers), and wall time per send.
//!
//! ```text
//! cargo run --release -p boros-rt --example send_zc -- [SIZE (65536)] [COUNT (20000)]
//! ```

use std::io::Read;

/// CPU seconds (user + system) of `who` (`RUSAGE_SELF` or `RUSAGE_THREAD`).
fn cpu(who: i32) -> f64 {
    // SAFETY: an all-zero `rusage` is a valid value of this plain C struct.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `u` is a valid out-pointer for the call.
    unsafe { libc::getrusage(who, &mut u) };
    let t = |v: libc::timeval| v.tv_sec as f64 + v.tv_usec as f64 / 1e6;
    t(u.ru_utime) + t(u.ru_stime)
}

fn run(zc: bool, count: usize, size: usize) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("address");
    let reader = std::thread::spawn(move || {
        let (mut s, _) = l.accept().expect("accept");
        let c0 = cpu(libc::RUSAGE_THREAD);
        let mut buf = vec![0u8; 256 * 1024];
        let mut total = 0;
        loop {
            match s.read(&mut buf).expect("read") {
                0 => break,
                n => total += n,
            }
        }
        (total, cpu(libc::RUSAGE_THREAD) - c0)
    });
    let (all0, me0) = (cpu(libc::RUSAGE_SELF), cpu(libc::RUSAGE_THREAD));
    let t0 = std::time::Instant::now();
    boros_rt::block_on(async move {
        let s = boros_rt::net::TcpStream::connect(addr)
            .await
            .expect("connect");
        let mut buf = vec![7u8; size];
        for _ in 0..count {
            if zc {
                let (r, b) = s.send_zc(buf).await;
                let sent = r.expect("send_zc");
                buf = b;
                if sent < size {
                    s.write_all(buf[sent..].to_vec()).await.0.expect("send");
                }
            } else {
                let (r, b) = s.write_all(buf).await;
                r.expect("send");
                buf = b;
            }
        }
    });
    let me = cpu(libc::RUSAGE_THREAD) - me0;
    let (total, rd) = reader.join().expect("reader");
    assert_eq!(total, count * size, "every byte arrived");
    let wall = t0.elapsed().as_secs_f64();
    let all = cpu(libc::RUSAGE_SELF) - all0;
    let per = |s: f64| s / count as f64 * 1e6;
    println!(
        "{:7} {size} B: µs CPU per send: sender {:.2}, reader {:.2}, other threads {:.2}; wall {:.2}",
        if zc { "send_zc" } else { "send" },
        per(me),
        per(rd),
        per(all - me - rd),
        per(wall)
    );
}

fn main() {
    let mut args = std::env::args().skip(1);
    let size = args.next().map_or(65536, |s| s.parse().expect("SIZE"));
    let count = args.next().map_or(20_000, |s| s.parse().expect("COUNT"));
    for round in 0..3 {
        let order = if round % 2 == 0 {
            [false, true]
        } else {
            [true, false]
        };
        for zc in order {
            run(zc, count, size);
        }
    }
}
