/**
 * What differs between the Node releases boros runs on, in one place: each fact is a constant
 * computed once from the running Node's version, named for the behaviour, with the releases
 * where it was seen. boros follows the running Node: code that must behave like the running
 * release reads these, never `process.versions` itself.
 * Not part of the public API.
 * @module
 */

const [MAJOR, MINOR] = process.versions.node.split('.').map(Number) as [number, number]

/** Whether the running Node is `major.minor` or later. */
export function nodeAtLeast(major: number, minor = 0): boolean {
  return MAJOR > major || (MAJOR === major && MINOR >= minor)
}

/**
 * `fs/promises` `readFile(path)` names the path in errors of its reads (EISDIR...): Node 26 does,
 * Node 20-24 do not (seen on 26.10 vs 24.21).
 */
export const READ_ERRORS_NAME_PATH = nodeAtLeast(26)

/** `FileHandle.read` validates its position right after its offset (24.16+). */
export const READ_POSITION_CHECKED_FIRST = nodeAtLeast(24, 16)

/**
 * `fs/promises` `stat`/`lstat` and `FileHandle.stat` refuse options that are not an object
 * (`null`, an array, a number...) with `ERR_INVALID_ARG_TYPE`, and check `options.signal` (an
 * AbortSignal, not aborted) (seen on 26.12; 24.22 and 20 read `.bigint` of them and ignore a
 * signal; 25 not checked: assumed as 26).
 */
export const STAT_OPTIONS_OBJECT = nodeAtLeast(25)

/**
 * `fs/promises` `writeFile`/`appendFile` (path or handle) check `options.mode` right after
 * `options.flush`, before the data (seen on 26.12; 24.22 checks it only when it opens a path;
 * 25 not checked: assumed as 26).
 */
export const WRITE_FILE_MODE_FIRST = nodeAtLeast(25)

/**
 * A `FileHandle` collected without `close()`: Node 26 closes it and throws an uncaught
 * `ERR_INVALID_STATE` naming the descriptor and its path, with no warning (seen on 26.12); 20-24
 * warn (`Closing file descriptor N on garbage collection`, then DEP0137 once). 25 not checked.
 */
export const GC_CLOSE_THROWS = nodeAtLeast(26)

/** `net.connect` type-checks `options.host` (22+; checked on 22.23 and 24). */
export const CONNECT_HOST_TYPE_CHECKED = nodeAtLeast(22)

/**
 * A net.Socket write that the socket's destroy cancelled gets its error (`write ECANCELED`), not
 * none: `onWriteComplete` checks the status before `stream.destroyed` since nodejs/node#54032
 * (Node 22.7). Seen: none on 20.20, the error on 24.22 and 26.12.
 */
export const CANCELLED_WRITE_GETS_ERROR = nodeAtLeast(22, 7)

/**
 * `server.listen(port, host)` looks `host` up with `dns.lookup(host, { all: true }, cb)` and
 * listens on the first address that is not IPv6 link-local (`fe80::/10`), else on the first
 * (nodejs/node#54264, Node 22.8). Seen on 24.22 and 26.12; 20.20 calls `dns.lookup(host, cb)` and
 * listens on the one address it gives. 22 not checked.
 */
export const LISTEN_LOOKS_UP_ALL = nodeAtLeast(22, 8)

/**
 * A Unix socket path longer than `sun_path` (108 bytes) is refused with `EINVAL` by `listen` and
 * `connect` (nodejs/node#52347 passes libuv's `UV_PIPE_NO_TRUNCATE`, Node 22.0). Seen on 24.22 and
 * 26.12; 20.20's libuv cuts such a path to its first 108 bytes and binds / connects that name. 22
 * not checked.
 */
export const UNIX_PATH_NOT_CUT = nodeAtLeast(22)

/**
 * A TCP connect to an IPv6 link-local address without a zone (`fe80::1`) takes the scope of the
 * first interface with a link-local address (libuv 1.47's `uv__tcp_connect`), so it goes out
 * there rather than failing with `EINVAL`. Seen on 24.22 and 26.12 (libuv 1.52); 20.20 (libuv
 * 1.46) connects with scope 0 (`connect EINVAL fe80::1:80 - Local (:::0)`). 22 not checked
 * (libuv 1.48+ there).
 */
export const CONNECT_SCOPES_LINK_LOCAL = nodeAtLeast(22)

/**
 * Node's ES module loader reads every module file with `fs/promises`' own `readFile(URL)`,
 * looked up on the module object at each load (Node 20; 24 and 26 read them synchronously).
 * Seen with a counting `readFile` on 20.20, 24.22 and 26.12. Not checked on 22: assumed there.
 */
export const ESM_LOADER_READS_WITH_FSP = !nodeAtLeast(24)

/*
 * Not gated here, because boros asks the running Node itself on the path where they matter:
 * - `fs/promises` `stat(path, { throwIfNoEntry: false })` resolves `undefined` for a missing
 *   entry (ENOENT, ENOTDIR) on Node 25.7+ and 24.22 (backported; 20 rejects; `lstat` rejects on
 *   every release up to 26.12): boros/fs' `stat`/`lstat` hand a missing entry with that option
 *   set to Node's own function, and boros/fs/callback hands the whole call to Node's.
 */
