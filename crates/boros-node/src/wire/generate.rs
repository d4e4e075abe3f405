//! What is made from the protocol's values: [`DIGEST`], the hash both sides check at start-up,
//! and [`typescript`], the façade's generated copy (`src-ts/wire.ts`).

use super::{http, ERROR_CODES, EVENT_REARM, NUMBERS, STAT_FIELD_NAMES};

const fn fnv(mut h: u32, bytes: &[u8]) -> u32 {
    let mut i = 0;
    while i < bytes.len() {
        h ^= bytes[i] as u32;
        h = h.wrapping_mul(0x0100_0193);
        i += 1;
    }
    h
}

/// Hashes a table of named numbers into `h`.
const fn fnv_numbers(mut h: u32, table: &[(&str, i64)]) -> u32 {
    let mut i = 0;
    while i < table.len() {
        h = fnv(h, table[i].0.as_bytes());
        h = fnv(h, &table[i].1.to_le_bytes());
        i += 1;
    }
    h
}

const fn digest() -> u32 {
    let mut h = fnv_numbers(0x811c_9dc5, &NUMBERS);
    h = fnv_numbers(h, &http::NUMBERS);
    h = fnv(h, &EVENT_REARM.to_le_bytes());
    let mut i = 0;
    while i < STAT_FIELD_NAMES.len() {
        h = fnv(h, STAT_FIELD_NAMES[i].as_bytes());
        i += 1;
    }
    let mut i = 0;
    while i < ERROR_CODES.len() {
        h = fnv(h, ERROR_CODES[i].0.as_bytes());
        h = fnv(h, ERROR_CODES[i].1.as_bytes());
        i += 1;
    }
    h
}

/// A hash of every value of the protocol. The façade's generated copy carries the same number;
/// `init` refuses a façade whose digest differs (a binary from another build).
pub const DIGEST: u32 = digest();

/// The façade's copy of the protocol, as TypeScript (`src-ts/wire.ts`).
pub fn typescript() -> String {
    use std::fmt::Write;
    let mut s = String::new();
    s.push_str(
        "/**\n * The wire protocol shared with the native binding: GENERATED from\n * `crates/boros-node/src/wire.rs` by `BOROS_BLESS=1 cargo test -p boros-node --lib`. Do not edit.\n * `cargo test` fails when this file is stale; the runtime checks `DIGEST` against the binary's at start-up.\n * @module\n */\n\n",
    );
    for (name, value) in NUMBERS.iter().chain(http::NUMBERS.iter()) {
        let _ = writeln!(s, "export const {name} = {value}");
    }
    let _ = writeln!(
        s,
        "/** A stream event result: the multishot op ended with nothing wrong; arm it again. */"
    );
    let _ = writeln!(s, "export const EVENT_REARM = {EVENT_REARM}");
    let _ = writeln!(
        s,
        "/** A hash of every value here; the binary's must match. */"
    );
    let _ = writeln!(s, "export const DIGEST = {DIGEST}");
    s.push_str("\n/** How an op names its file: a descriptor or a registered-file slot. */\n");
    s.push_str("export type FileKind = typeof FILE_KIND_FD | typeof FILE_KIND_FIXED\n");
    s.push_str("/** What one shared-queue entry asks for. */\n");
    s.push_str("export type EntryKind = typeof ENTRY_READ | typeof ENTRY_WRITE | typeof ENTRY_POOL_READ | typeof ENTRY_POOL_WRITE\n");
    s.push_str("\n/** Fields of a stat record, in order. */\nexport const STAT_FIELD_NAMES = [\n");
    // Biome's style (no trailing commas), so `npm run format` leaves the file as generated.
    let names: Vec<String> = STAT_FIELD_NAMES
        .iter()
        .map(|f| format!("  '{f}'"))
        .collect();
    let _ = writeln!(s, "{}", names.join(",\n"));
    s.push_str("] as const\n\n/** Every error code the native side throws. */\nexport const nativeCodes = {\n");
    let codes: Vec<String> = ERROR_CODES
        .iter()
        .map(|(name, code, when)| format!("  /** {when} */\n  {name}: '{code}'"))
        .collect();
    let _ = writeln!(s, "{}", codes.join(",\n"));
    s.push_str("} as const\n");
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn typescript_copy_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../src-ts/wire.ts");
        let want = super::typescript();
        if std::env::var_os("BOROS_BLESS").is_some() {
            std::fs::write(path, &want).unwrap();
            return;
        }
        let have = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            have == want,
            "src-ts/wire.ts is stale: run `BOROS_BLESS=1 cargo test -p boros-node --lib`"
        );
    }
}
