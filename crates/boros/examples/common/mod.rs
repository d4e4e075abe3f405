//! What the examples share: the token layout (an index and a 2-bit kind), the `--addr` /
//! `--unix` arguments of the echo pair, and the process's CPU time.
#![allow(dead_code)]

use boros::SockAddr;

/// The token of step `kind` (0..=3) of item `idx`: `idx << 2 | kind`.
pub fn token(idx: usize, kind: u64) -> u64 {
    (idx as u64) << 2 | kind
}

/// The echo pair's default address.
pub fn default_addr() -> SockAddr {
    SockAddr::from("127.0.0.1:7878".parse::<std::net::SocketAddr>().unwrap())
}

/// The value `v` of `--addr HOST:PORT` or `--unix PATH` (a leading @: an abstract name);
/// `None` for any other flag.
pub fn addr_arg(flag: &str, v: &str) -> Option<Result<SockAddr, String>> {
    match flag {
        "--addr" => Some(
            v.parse::<std::net::SocketAddr>()
                .map(SockAddr::from)
                .map_err(|e| format!("--addr {v}: {e}")),
        ),
        "--unix" => Some(
            match v.strip_prefix('@') {
                Some(name) => SockAddr::unix_abstract(name.as_bytes()),
                None => SockAddr::unix(v),
            }
            .map_err(|e| format!("--unix {v}: {e}")),
        ),
        _ => None,
    }
}

/// User plus system CPU seconds of this process so far.
pub fn cpu_seconds() -> f64 {
    // SAFETY: getrusage fills the struct we pass; all-zero is a valid starting value.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_SELF with a valid pointer.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    t(ru.ru_utime) + t(ru.ru_stime)
}
