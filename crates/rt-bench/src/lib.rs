//! Shared bits of the rt-bench binaries: argument parsing and the offsets of the random-read
//! benchmark (xorshift64, one seed for every contender).

use std::cell::Cell;

/// xorshift64: the same offsets for every contender.
pub struct XorShift(pub Cell<u64>);

impl Default for XorShift {
    fn default() -> Self {
        Self(Cell::new(0x9E37_79B9_7F4A_7C15))
    }
}

impl XorShift {
    /// The next value.
    pub fn next_u64(&self) -> u64 {
        let mut x = self.0.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0.set(x);
        x
    }
}

/// `--file PATH [--qd 64] [--seconds 5]`, as `bench_read` takes them.
pub struct ReadArgs {
    /// The file.
    pub file: String,
    /// Reads in flight.
    pub qd: usize,
    /// Measuring time.
    pub seconds: f64,
}

/// Parses [`ReadArgs`]; exits with a usage line on bad input.
pub fn read_args(name: &str) -> ReadArgs {
    let mut a = ReadArgs {
        file: String::new(),
        qd: 64,
        seconds: 5.0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let v = it.next().unwrap_or_default();
        match k.as_str() {
            "--file" => a.file = v,
            "--qd" => a.qd = v.parse().unwrap_or(64),
            "--seconds" => a.seconds = v.parse().unwrap_or(5.0),
            _ => {
                eprintln!("usage: {name} --file PATH [--qd 64] [--seconds 5]");
                std::process::exit(2);
            }
        }
    }
    if a.file.is_empty() {
        eprintln!("usage: {name} --file PATH [--qd 64] [--seconds 5]");
        std::process::exit(2);
    }
    a
}

/// The JSON line every random-read contender prints.
pub fn print_reads(ops: u64, secs: f64, qd: usize) {
    println!(
        "{{\"ops\":{ops},\"seconds\":{secs:.3},\"ops_per_sec\":{:.0},\"mode\":\"rand\",\"qd\":{qd},\"block\":4096}}",
        ops as f64 / secs
    );
}
