//! What the loop's test files (runtime.rs, misuse.rs) share.

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
