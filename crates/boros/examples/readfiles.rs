//! Reads whole files through one boros [`Driver`], batching every step: `openat`, `statx`,
//! `read` (in chunks of up to 1 MiB) and `close` are all io_uring operations, and up to 256
//! files are in flight at once, so each `io_uring_enter` submits many operations.
//!
//! Usage:
//!
//! ```text
//! cargo run -p boros --example readfiles -- PATH...
//! cargo run -p boros --example readfiles -- /etc
//! ```
//!
//! Each PATH is a file, or a directory whose regular files are read (recursively; symbolic
//! links to directories are not followed). Prints the number of files and bytes read, and how
//! many `io_uring_enter` calls it took. Files that fail (permission denied, ...) are reported
//! on stderr and counted, but do not stop the run.

mod common;

use common::token;

use boros::{op, Completion, Driver};
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Files in flight at once.
const MAX_FILES: usize = 256;
/// Largest single read.
const CHUNK: u64 = 1 << 20;
/// Read size when statx reports 0 bytes (procfs, sysfs and the like).
const UNKNOWN_SIZE_CHUNK: u64 = 64 << 10;

const OPEN: u64 = 0;
const STATX: u64 = 1;
const READ: u64 = 2;
const CLOSE: u64 = 3;

#[derive(Default)]
struct FileState {
    fd: Option<i32>,
    size: Option<u64>,
    is_regular: bool,
    offset: u64,
    /// Open and statx completions received (both are needed before reading or closing).
    setup_done: u8,
    failed: bool,
    /// The read buffer, reused for every chunk of the file.
    buf: Option<Vec<u8>>,
}

fn collect_paths(path: &Path, out: &mut Vec<PathBuf>) {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => match std::fs::read_dir(path) {
            Ok(entries) => {
                let mut children: Vec<PathBuf> =
                    entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
                children.sort();
                for child in children {
                    collect_paths(&child, out);
                }
            }
            Err(e) => eprintln!("{}: {e}", path.display()),
        },
        Ok(meta) if meta.is_file() || meta.file_type().is_symlink() => out.push(path.to_owned()),
        Ok(_) => {} // sockets, fifos, devices: not files to read
        Err(e) => eprintln!("{}: {e}", path.display()),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() || args.iter().any(|a| a == "-h" || a == "--help") {
        eprintln!("usage: readfiles PATH... (files, or directories read recursively)");
        std::process::exit(2);
    }
    let mut paths = Vec::new();
    for a in &args {
        collect_paths(Path::new(a), &mut paths);
    }
    let cpaths: Vec<CString> = paths
        .iter()
        .map(|p| CString::new(p.as_os_str().as_bytes()).expect("paths have no NUL"))
        .collect();

    let started = Instant::now();
    let mut driver = Driver::new()?;
    let mut files: Vec<FileState> = paths.iter().map(|_| FileState::default()).collect();
    let mut next = 0;
    let mut active = 0;
    let (mut bytes, mut done_files, mut failed_files) = (0u64, 0usize, 0usize);
    let mut ready: Vec<Completion> = Vec::new();

    loop {
        // Start new files while there is room: open and statx go in the same batch.
        while active < MAX_FILES && next < paths.len() {
            let path = cpaths[next].clone();
            driver.push(
                Box::new(op::OpenAt::new(path.clone(), libc::O_RDONLY, 0)),
                token(next, OPEN),
            )?;
            driver.push(Box::new(op::Statx::path(path, true)), token(next, STATX))?;
            next += 1;
            active += 1;
        }
        if driver.in_flight() == 0 {
            break;
        }
        // Submit everything queued and wait for at least one completion, in one enter.
        driver.wait(1, None)?;
        driver.reap(boros::completions(|c| ready.push(c)))?;

        for mut c in ready.drain(..) {
            let i = (c.token >> 2) as usize;
            let step = c.token & 3;
            let f = &mut files[i];
            let result = c.result();
            if let Err(e) = &result {
                if !f.failed {
                    let what = ["open", "statx", "read", "close"][step as usize];
                    eprintln!("{}: {what}: {e}", paths[i].display());
                    f.failed = true;
                    failed_files += 1;
                }
            }
            let mut read_more = false;
            match (step, result) {
                (OPEN, Ok(fd)) => f.fd = Some(fd as i32),
                (STATX, Ok(_)) => {
                    let st = *c.take_op::<op::Statx>().expect("statx op").result();
                    f.size = Some(st.stx_size);
                    f.is_regular = u32::from(st.stx_mode) & libc::S_IFMT == libc::S_IFREG;
                }
                (READ, Ok(n)) => {
                    let buf = c
                        .take_op::<op::Read<Vec<u8>>>()
                        .expect("read op")
                        .into_buf(n);
                    f.buf = Some(buf);
                    f.offset += n as u64;
                    bytes += n as u64;
                    let size = f.size.unwrap_or(0);
                    read_more = n > 0 && (size == 0 || f.offset < size);
                }
                (CLOSE, _) => {
                    active -= 1;
                    done_files += 1;
                    continue;
                }
                _ => {}
            }
            // Once both open and statx are back (whether they succeeded or not): read, or close.
            if matches!(step, OPEN | STATX) {
                f.setup_done += 1;
            }
            let first_read = matches!(step, OPEN | STATX) && f.setup_done == 2;
            if (first_read || read_more) && !f.failed && f.is_regular {
                let fd = f.fd.expect("opened");
                let want = match f.size.unwrap_or(0) {
                    0 => UNKNOWN_SIZE_CHUNK,
                    size => (size - f.offset).clamp(1, CHUNK),
                };
                let mut buf = f.buf.take().unwrap_or_default();
                buf.clear();
                buf.reserve_exact(want as usize);
                let read = op::Read::new(fd, buf, f.offset).with_len(want as u32);
                driver.push(Box::new(read), token(i, READ))?;
            } else if first_read || step == READ {
                match f.fd.take() {
                    Some(fd) => {
                        driver.push(Box::new(op::Close::new(fd)), token(i, CLOSE))?;
                    }
                    None => {
                        // Nothing to close: the open failed.
                        active -= 1;
                        done_files += 1;
                    }
                }
                f.buf = None;
            }
        }
    }

    let stats = driver.stats();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "files: {done_files} ({failed_files} failed), bytes: {bytes}, io_uring_enter calls: {}, \
         batches: {}, ops: {}, {:.1} ms",
        stats.enter_calls,
        stats.batches,
        stats.ops_completed,
        secs * 1e3
    );
    Ok(())
}
