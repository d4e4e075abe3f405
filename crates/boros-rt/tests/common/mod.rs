//! What the test files share (runtime.rs, misuse.rs: the watchdog; close_reuse.rs,
//! close_under_send.rs: filling a socket). Each test file is a crate of its own and uses part of
//! this module, so an item one of them does not use is not dead code.
#![allow(dead_code)]

use std::os::fd::RawFd;
use std::sync::Once;
use std::time::Duration;

/// A hang is a failure: no test of these files may take a minute.
pub fn watchdog() {
    static START: Once = Once::new();
    START.call_once(|| {
        std::thread::spawn(|| {
            std::thread::sleep(Duration::from_secs(120));
            eprintln!("watchdog: a boros-rt test hung for 120 s");
            std::process::exit(1);
        });
    });
}

/// Sends without blocking until the socket takes no more; returns the bytes it took.
pub fn fill(fd: RawFd) -> usize {
    let chunk = [5u8; 4096];
    let mut total = 0;
    loop {
        // SAFETY: the buffer is a local array whose length is passed; the descriptor is open.
        let n = unsafe {
            libc::send(
                fd,
                chunk.as_ptr().cast(),
                chunk.len(),
                libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
            )
        };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock, "fill: {e}");
            return total;
        }
        total += n as usize;
    }
}
