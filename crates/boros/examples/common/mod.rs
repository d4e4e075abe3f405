//! What the examples share: the token layout (an index and a 2-bit kind), command-line flags
//! (the echo pair's `--addr` / `--unix`), and the process's CPU time.
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

/// The address of `--addr HOST:PORT`, or of `--unix PATH` (a leading @: an abstract name).
pub fn addr(flag: &str, v: &str) -> Result<SockAddr, String> {
    if flag == "--unix" {
        match v.strip_prefix('@') {
            Some(name) => SockAddr::unix_abstract(name.as_bytes()),
            None => SockAddr::unix(v),
        }
        .map_err(|e| format!("--unix {v}: {e}"))
    } else {
        v.parse::<std::net::SocketAddr>()
            .map(SockAddr::from)
            .map_err(|e| format!("--addr {v}: {e}"))
    }
}

/// The value of flag `name`, parsed.
pub fn parse<T: std::str::FromStr>(name: &str, v: String) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    v.parse().map_err(|e| format!("{name}: {e}"))
}

/// Hands each command-line argument to `flag(name, value)`, where `value()` takes the next
/// argument as the flag's value; `flag` returns false for a flag it does not know (an error).
/// `--help` / `-h` prints `usage` and exits.
pub fn each_arg(
    usage: &str,
    mut flag: impl FnMut(&str, &mut dyn FnMut() -> Result<String, String>) -> Result<bool, String>,
) -> Result<(), String> {
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        if arg == "--help" || arg == "-h" {
            println!("{usage}");
            std::process::exit(0);
        }
        let mut value = || it.next().ok_or(format!("{arg} needs a value"));
        if !flag(&arg, &mut value)? {
            return Err(format!("unknown argument {arg:?}"));
        }
    }
    Ok(())
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
