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

const [UV_MAJOR = 0, UV_MINOR = 0] = (process.versions.uv ?? '0.0').split('.').map(Number)

/** Whether the running Node's libuv is `major.minor` or later (a fact that moved with libuv, not with Node's major). */
function uvAtLeast(major: number, minor: number): boolean {
  return UV_MAJOR > major || (UV_MAJOR === major && UV_MINOR >= minor)
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

/**
 * A recursive `mkdir` takes a missing directory's parent without the separators it ended in:
 * `mkdir('x//y', { recursive: true })` creates and resolves with `x`, where other releases cut
 * at the last `/` only and create `x/` (so `a///y` gives `a//`). Seen on 22.5-22.9 (promises
 * and sync alike); 20.20, 22.0, 22.3, 22.4, 22.10-22.20, 22.22 and 24.0-24.5 keep the
 * separators.
 */
export const MKDIRP_PARENT_DROPS_SLASHES = MAJOR === 22 && MINOR >= 5 && MINOR < 10

/**
 * An unknown `encoding` in the options of `fs/promises` `readFile`/`writeFile`/`appendFile` (and
 * their `FileHandle` forms) is refused with the encoding as the argument's name and `'encoding'`
 * as its value: `The argument 'bogus' is invalid encoding. Received 'encoding'` (Node's
 * `assertEncoding` passed them the wrong way round). Seen on 22.0, 22.3, 22.5 and 22.6-22.14;
 * 20.20, 22.15-22.20, 22.22 and 24.0-24.16 name `encoding` and show the value.
 */
export const ENCODING_ERROR_NAMES_THE_VALUE = MAJOR === 22 && MINOR < 15

/**
 * `net.connect` type-checks `options.host` itself (`The "options.host" property must be of type
 * string`). Seen on 22.15, 22.17, 22.23, 24.0, 24.22 and 26.12; 20.20, 22.0, 22.8 and 22.14 leave
 * it to `dns.lookup` (`The "hostname" argument must be of type string`).
 */
export const CONNECT_HOST_TYPE_CHECKED = nodeAtLeast(22, 15)

/**
 * A net.Socket write that the socket's destroy cancelled gets its error (`write ECANCELED`), not
 * none: `onWriteComplete` checks the status before `stream.destroyed` (nodejs/node#54032). Seen:
 * none on 20.20, 22.0, 22.6, 22.7 and 22.8; the error on 22.9, 22.10, 22.11, 22.12, 22.23, 24.0,
 * 24.22 and 26.12 (22.7's changelog lists the change, but 22.7 and 22.8 do not behave so).
 */
export const CANCELLED_WRITE_GETS_ERROR = nodeAtLeast(22, 9)

/**
 * A `lookup` option that answers an address that is not a string (an array, say) makes node:net's
 * connect fail with `ERR_INVALID_IP_ADDRESS`. Seen on 22.15, 22.16, 22.17, 22.23, 24.0 and 26.12;
 * 20.20 and 22.0-22.14 (22.0, 22.6-22.14 run) abort the process instead (`TCPWrap::Connect`
 * asserts a string). boros/net always gives the error (it cannot abort as node:net does): the
 * differential scenario runs where node:net gives it.
 */
export const LOOKUP_ADDRESS_CHECKED = nodeAtLeast(22, 15)

/**
 * `server.listen(port, host)` looks `host` up with `dns.lookup(host, { all: true }, cb)` and
 * listens on the first address that is not IPv6 link-local (`fe80::/10`), else on the first
 * (nodejs/node#54264, Node 22.8). Seen on 22.8, 22.9, 22.23, 24.0, 24.22 and 26.12; 20.20, 22.0,
 * 22.6 and 22.7 call `dns.lookup(host, cb)` and listen on the one address it gives.
 */
export const LISTEN_LOOKS_UP_ALL = nodeAtLeast(22, 8)

/**
 * A Unix socket path longer than `sun_path` (108 bytes) is refused with `EINVAL` by `listen` and
 * `connect` (nodejs/node#52347 passes libuv's `UV_PIPE_NO_TRUNCATE`, a semver-major change: Node
 * 23.0). Seen on 24.0, 24.15, 24.22 and 26.12; 20.20 and every 22 run (22.0, 22.13, 22.23) cut
 * such a path to its first 108 bytes and bind / connect that name. 23 not checked.
 */
export const UNIX_PATH_NOT_CUT = nodeAtLeast(23)

/**
 * A Unix socket bound by a path cut to `sun_path` (see `UNIX_PATH_NOT_CUT`) is unlinked by the
 * name it was bound by when the server closes: libuv 1.48+ keeps the cut name (seen on 22.0,
 * libuv 1.48.0, 22.13 and 22.23). libuv 1.46 (Node 20.20) keeps the whole path, unlinks that
 * (no such file) and leaves the socket file.
 */
export const CUT_PATH_UNLINKED_AT_CLOSE = uvAtLeast(1, 48)

/**
 * `listen({ path, readableAll, writableAll })` chmods the socket file to exactly the asked bits
 * (`0o444`, `0o222`, `0o666`): libuv 1.51+, which Node 22.17 and 24.2 brought (seen on 22.17,
 * 22.23, 24.2 and 24.15 with libuv 1.51.0, 24.16, 24.22 and 26.12 with 1.52.1). Older libuv adds
 * the bits to the file's mode (`0o755` for `readableAll` under umask 022): seen on 20.20
 * (1.46.0), 22.0 (1.48.0), 22.13 and 22.16 (1.49.2) and 24.0 (1.50.0).
 */
export const PIPE_CHMOD_EXACT = uvAtLeast(1, 51)

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
 * looked up on the module object at each load; later releases read them synchronously. Seen
 * with a counting `readFile` around a dynamic import: read with it on 20.20, 22.0, 22.8, 22.12,
 * 22.13, 22.15, 22.17, 24.0 and 24.2; not on 22.18, 22.23, 24.3, 24.4, 24.8, 24.15, 24.22 and
 * 26.12. 23 and 25 not checked (23 assumed as 24.0, 25 as 26).
 */
export const ESM_LOADER_READS_WITH_FSP = MAJOR === 22 ? MINOR < 18 : !nodeAtLeast(24, 3)

/**
 * `FileHandle.readv([], position)` (no buffers) rejects with `EINVAL`. Seen on 20.20, 22.20,
 * 22.22, 22.23, 24.5-24.8, 24.10, 24.12-24.15, 26.12; 22.0-22.19 (22.0, 22.12, 22.18, 22.19 run)
 * and 24.0-24.4 (24.0, 24.4 run) reject with a TypeError (`Promise.prototype.then called on
 * incompatible receiver`) and leave an unhandled EINVAL rejection, which ends the process.
 * boros/fs rejects with EINVAL everywhere; the differential scenario asks only where node:fs
 * answers.
 */
export const EMPTY_READV_REJECTS = MAJOR === 22 ? MINOR >= 20 : MAJOR === 24 ? MINOR >= 5 : true

/**
 * A `module.registerHooks` resolve hook may send `require('node:net')` (a `node:` builtin) to a
 * file: seen on 22.23, 24.14, 24.15, 24.22 and 26.12. On 22.15 (the first with registerHooks),
 * 22.18-22.20, 22.22, 24.0, 24.4, 24.5, 24.8, 24.12 and 24.13 such a require throws in Node's
 * loader (`loadBuiltinWithHooks`: `Cannot read properties of undefined (reading 'exports')`;
 * `require('net')` works). boros/register's net swap serves require() there with its
 * `Module._load` hook first (imports still go through the resolve hook). 23 and 25 not checked
 * (23 assumed broken, 25 as 26).
 */
export const REGISTER_HOOKS_REDIRECT_NODE_BUILTIN =
  MAJOR === 22 ? MINOR >= 23 : MAJOR === 24 ? MINOR >= 14 : nodeAtLeast(25)

/**
 * `fs/promises` `statfs(path)` validates its path like every fs call (a `file:` URL works; a
 * number, an object, another scheme or nothing is refused). Seen on 20.20, 22.0, 22.23, 24.14,
 * 24.15, 24.22 and 26.12. 22.6, 22.8-22.12, 22.17-22.20, 22.22 and 24.0-24.13 (24.0, 24.4, 24.5,
 * 24.8, 24.12, 24.13 run) check nothing and abort the process on anything but a string or a
 * buffer (`StatFs`: `Assertion failed: (*path) != nullptr`); 22.1-22.5 not checked (assumed as
 * 22.6). boros/fs validates it everywhere; the argument fuzz hands node:fs no such path there.
 */
export const STATFS_CHECKS_PATH = MAJOR === 22 ? MINOR === 0 || MINOR >= 23 : MAJOR === 24 ? MINOR >= 14 : true

/**
 * `FileHandle.readableWebStream({ autoClose: true })` closes the handle at the stream's end. Seen
 * on 22.17, 22.23, 24.2, 24.3, 24.4 and 24.22; 22.15, 22.16, 24.0 and 24.1 take the option and
 * leave the handle open. (boros/fs closes it where asked; the conformance test compares with
 * node:fs where node:fs does.) 23 assumed from 23.8.
 */
export const WEB_STREAM_AUTO_CLOSE = MAJOR === 22 ? MINOR >= 17 : MAJOR === 23 ? MINOR >= 8 : nodeAtLeast(24, 2)

/*
 * Not gated here, because boros asks the running Node itself on the path where they matter:
 * - `fs/promises` `stat(path, { throwIfNoEntry: false })` resolves `undefined` for a missing
 *   entry (ENOENT, ENOTDIR) on Node 25.7+ and 24.22 (backported; 20 rejects; `lstat` rejects on
 *   every release up to 26.12): boros/fs' `stat`/`lstat` hand a missing entry with that option
 *   set to Node's own function, and boros/fs/callback hands the whole call to Node's.
 */
