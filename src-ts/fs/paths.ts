/**
 * Path functions of `boros/fs`: rename, unlink, rmdir, rm, mkdir, symlink, link, truncate and
 * copyFile through io_uring; the calls io_uring has no opcode for (access, readdir, readlink,
 * realpath, chmod, chown, utimes, mkdtemp, ...) are `node:fs/promises`' own, re-exported.
 * `runtime().paths` says which path each one takes here.
 * Not part of the public API (re-exported by `boros/fs`).
 * @module
 */
import { nodeFsp as fsp } from '../node-fsp.js'
import { constants, type Dirent } from 'node:fs'
import { join } from 'node:path'
import { usesRing } from '../binding.js'
import { submit } from '../submit.js'
import { codedError, codes, invalidArgType, systemError, type SystemError } from '../errors.js'
import { toPath, validateInteger, type PathLike } from '../validate.js'
import type { FileHandle } from './file-handle.js'
import { openDescriptor } from './open.js'
import { parseMode } from './flags.js'
import { MKDIRP_PARENT_DROPS_SLASHES } from '../node-facts.js'
import { hasOp } from './op-support.js'
import { STAT_FIELDS } from './stats.js'

// node:fs/promises' own (Node's copy: boros/register replaces the functions on Node's object).
export const access = fsp.access
export const readlink = fsp.readlink
export const realpath = fsp.realpath
export const readdir = fsp.readdir
export const opendir = fsp.opendir
export const chmod = fsp.chmod
export const lchmod = fsp.lchmod
export const chown = fsp.chown
export const lchown = fsp.lchown
export const utimes = fsp.utimes
export const lutimes = fsp.lutimes
export const mkdtemp = fsp.mkdtemp
export const cp = fsp.cp
export const statfs = fsp.statfs
export const watch = fsp.watch
import { EACCES, EEXIST, EISDIR, ENOENT, ENOSPC, ENOTDIR, EPERM } from '../errno.js'

/** Options of `glob` (`node:fs/promises` glob's, Node 22+). */
export interface GlobOptions {
  /** Directory the patterns are relative to (default `process.cwd()`). */
  readonly cwd?: string | URL
  /** Paths (or `Dirent`s, with `withFileTypes`) to leave out. */
  readonly exclude?: ((file: string | Dirent) => boolean) | readonly string[]
  /** Yield `Dirent`s instead of paths. */
  readonly withFileTypes?: boolean
}

type Glob = (pattern: string | readonly string[], options?: GlobOptions) => AsyncIterableIterator<string | Dirent>

/**
 * Yields the paths matching `pattern`: `node:fs/promises`' own `glob` (matching is directory
 * walking, which io_uring has no opcode for). It exists on Node 22 and later; on Node 20 the
 * call throws `ERR_BOROS_UNSUPPORTED_RUNTIME`, naming the version.
 */
export function glob(
  pattern: string | readonly string[],
  options?: GlobOptions
): AsyncIterableIterator<string | Dirent> {
  const impl = (fsp as unknown as { glob?: Glob }).glob
  if (impl === undefined) {
    throw codedError(
      Error,
      codes.UNSUPPORTED_RUNTIME,
      `glob needs Node 22 or later (this is Node ${process.versions.node}, whose node:fs/promises has no glob)`
    )
  }
  return impl(pattern, options)
}

/** What `mkdtempDisposable` resolves with: the directory, and how to remove it. */
export interface DisposableTempDir extends AsyncDisposable {
  /** The created directory. */
  readonly path: string
  /** Removes the directory and everything in it. */
  remove(): Promise<void>
}

type MkdtempDisposable = (prefix: string, options?: unknown) => Promise<DisposableTempDir>

/**
 * Creates a unique temporary directory that `await using` removes: `node:fs/promises`' own
 * `mkdtempDisposable` (Node 24.4 and later; no io_uring opcode for mkdtemp). Where the running
 * Node lacks it, the call rejects with `ERR_BOROS_UNSUPPORTED_RUNTIME`, naming the version.
 */
export function mkdtempDisposable(prefix: string, options?: unknown): Promise<DisposableTempDir> {
  const impl = (fsp as unknown as { mkdtempDisposable?: MkdtempDisposable }).mkdtempDisposable
  if (impl === undefined) {
    return Promise.reject(
      codedError(
        Error,
        codes.UNSUPPORTED_RUNTIME,
        `mkdtempDisposable needs Node 24.4 or later (this is Node ${process.versions.node})`
      )
    )
  }
  return impl(prefix, options)
}

/** Runs one path op; resolves with its raw result (0 or `-errno`), never rejects on errno. */
function raw(start: Parameters<typeof submit>[0]): Promise<number> {
  return submit(start, (r) => r)
}

/** Runs one path op, rejecting with Node's error for `syscall` on failure. */
async function pathOp(
  start: Parameters<typeof submit>[0],
  syscall: string,
  path: string,
  dest?: string
): Promise<void> {
  const r = await raw(start)
  if (r < 0) throw systemError(r, syscall, path, dest)
}

/** Renames `oldPath` to `newPath`, replacing `newPath` if it exists (io_uring `renameat`). */
export async function rename(oldPath: PathLike, newPath: PathLike): Promise<void> {
  const from = toPath(oldPath, 'oldPath')
  const to = toPath(newPath, 'newPath')
  if (!hasOp('renameat')) return fsp.rename(from, to)
  return pathOp((b, t) => b.rename(from, to, t), 'rename', from, to)
}

/** Removes a name that is not a directory (io_uring `unlinkat`). */
export async function unlink(path: PathLike): Promise<void> {
  const p = toPath(path)
  if (!hasOp('unlinkat')) return fsp.unlink(p)
  return pathOp((b, t) => b.unlink(p, false, t), 'unlink', p)
}

/** Options of `rmdir`. */
export interface RmDirOptions {
  /** Deprecated in Node (use `rm`); served by `node:fs` when set. */
  readonly recursive?: boolean
  /** With `recursive`: retries on EBUSY/EMFILE/ENFILE/ENOTEMPTY/EPERM (served by `node:fs`). */
  readonly maxRetries?: number
  /** With `recursive`: milliseconds between retries (served by `node:fs`). */
  readonly retryDelay?: number
}

/** Removes an empty directory (io_uring `unlinkat(AT_REMOVEDIR)`). */
export async function rmdir(path: PathLike, options?: RmDirOptions): Promise<void> {
  const p = toPath(path)
  const o = options as RmDirOptions | null | undefined
  // Node's validateRmdirOptions: only `undefined` means the defaults; `null`, an array or a
  // non-object are refused by node:fs (word for word Node's), as are the options it serves.
  const nodeOptions =
    o !== undefined &&
    (o === null ||
      typeof o !== 'object' ||
      Array.isArray(o) ||
      o.recursive !== undefined ||
      o.maxRetries !== undefined ||
      o.retryDelay !== undefined)
  if (!hasOp('unlinkat') || nodeOptions) return fsp.rmdir(p, options)
  return pathOp((b, t) => b.unlink(p, true, t), 'rmdir', p)
}

/** Options of `mkdir`. */
export interface MakeDirectoryOptions {
  /** Create missing parents too; resolve with the first directory created. */
  readonly recursive?: boolean
  /** Mode of new directories (default `0o777`, minus the umask). */
  readonly mode?: number | string
}

/**
 * Creates a directory (io_uring `mkdirat`). With `recursive`, creates the missing parents
 * too and resolves with the first directory it created (`undefined` if it existed), as Node.
 */
export async function mkdir(
  path: PathLike,
  options?: MakeDirectoryOptions | number | string | null
): Promise<string | undefined> {
  const p = toPath(path)
  const opts = typeof options === 'number' || typeof options === 'string' ? { mode: options } : (options ?? {})
  // Node's default applies to a missing key only: `recursive: null` is a type error there too.
  const recursive = opts.recursive === undefined ? false : opts.recursive
  if (typeof recursive !== 'boolean') throw invalidArgType('options.recursive', 'of type boolean', recursive)
  const mode = parseMode(opts.mode, 0o777)
  if (!hasOp('mkdirat') || !hasOp('statx')) return fsp.mkdir(p, { recursive, mode })
  if (!recursive) {
    await pathOp((b, t) => b.mkdir(p, mode, t), 'mkdir', p)
    return undefined
  }
  return mkdirp(p, mode)
}

const S_IFMT = 0o170000
const S_IFDIR = 0o040000

/** The mode of `p` via io_uring `statx`, or `-errno`. */
async function statMode(p: string, follow: boolean): Promise<number> {
  const out = new Float64Array(STAT_FIELDS)
  const r = await raw((b, t) => b.statx(p, -1, follow, out, t))
  return r < 0 ? r : out[1]!
}

/**
 * Creates `p` and its missing parents, step for step as Node's `MKDirpAsync` (src/node_file.cc)
 * does, so that results and errors match: a stack of paths, `mkdirat` on the top one; on ENOENT
 * its parent (cut at the last `/`) is pushed; other failures are checked with a `stat`. Errors
 * name the path of the last attempt. Resolves with the first directory created.
 */
async function mkdirp(p: string, mode: number): Promise<string | undefined> {
  const stack = [p]
  let first: string | undefined
  while (stack.length > 0) {
    const next = stack.pop()!
    let r = await raw((b, t) => b.mkdir(next, mode, t))
    if (r === 0) {
      first ??= next
      continue
    }
    if (r === EACCES || r === ENOSPC || r === ENOTDIR || r === EPERM) throw systemError(r, 'mkdir', next)
    if (r === ENOENT) {
      const cut = next.lastIndexOf('/')
      let parent = cut < 0 ? next : next.slice(0, cut)
      if (MKDIRP_PARENT_DROPS_SLASHES) parent = parent.replace(/\/+$/, '') || parent
      if (parent !== next) {
        stack.push(next, parent)
        continue
      }
      if (stack.length > 0) continue
      r = EEXIST
    }
    const m = await statMode(next, true)
    const isDir = m >= 0 && (m & S_IFMT) === S_IFDIR
    if (r === EEXIST && stack.length > 0) {
      if (isDir) continue
      throw systemError(ENOTDIR, 'mkdir', next)
    }
    if (m < 0) throw systemError(m, 'mkdir', next)
    if (!isDir) throw systemError(EEXIST, 'mkdir', next)
    return first
  }
  return first
}

/**
 * Creates the symbolic link `path` pointing at `target` (stored as given, not resolved;
 * io_uring `symlinkat`). `type` only matters on Windows and is checked as Node checks it.
 */
export async function symlink(target: PathLike, path: PathLike, type?: string | null): Promise<void> {
  // A type node:fs refuses: node:fs, with the arguments as given (Node 24 checks the type
  // before the paths, Node 20 after).
  if (type != null && type !== 'dir' && type !== 'file' && type !== 'junction') return fsp.symlink(target, path, type)
  const tgt = toPath(target, 'target')
  const p = toPath(path)
  if (!hasOp('symlinkat')) return fsp.symlink(tgt, p, type)
  return pathOp((b, t) => b.symlink(tgt, p, t), 'symlink', tgt, p)
}

/** Creates the hard link `newPath` to `existingPath` (io_uring `linkat`). */
export async function link(existingPath: PathLike, newPath: PathLike): Promise<void> {
  const from = toPath(existingPath, 'existingPath')
  const to = toPath(newPath, 'newPath')
  if (!hasOp('linkat')) return fsp.link(from, to)
  return pathOp((b, t) => b.link(from, to, t), 'link', from, to)
}

/** Opens `path` through io_uring `openat`, rejecting with Node's `open` error. */
function openFile(path: string, flags: number, mode = 0o666): Promise<FileHandle> {
  return openDescriptor(path, flags, mode)
}

/**
 * Truncates (or extends with zeroes) the file at `path` to `len` bytes (default 0):
 * io_uring `openat` + `ftruncate` (Linux 6.9+; the system call before) + `close`.
 */
export async function truncate(path: PathLike, len = 0): Promise<void> {
  const p = toPath(path)
  if (!usesRing()) return fsp.truncate(p, len)
  const fh = await openFile(p, constants.O_RDWR)
  try {
    await fh.truncate(len)
  } finally {
    await fh.close()
  }
}

const COPY_CHUNK = 1024 * 1024

function copyError(e: unknown, src: string, dest: string): unknown {
  const err = e as SystemError
  if (typeof err?.errno === 'number' && typeof err.syscall === 'string')
    return systemError(err.errno, 'copyfile', src, dest)
  return e
}

/**
 * Copies `src` to `dest`, replacing it unless `mode` has `COPYFILE_EXCL`. Through io_uring:
 * both files opened with `openat`, `dest` truncated and given the mode of `src`, then a
 * read/write loop in 1 MiB chunks (each chunk one read and one write, continued while
 * short). `COPYFILE_FICLONE`/`COPYFILE_FICLONE_FORCE` (reflink) are served by node:fs.
 * Errors are Node's: `syscall: 'copyfile'` with `path` and `dest`; on failure `dest` is
 * removed, as libuv does.
 */
export async function copyFile(src: PathLike, dest: PathLike, mode?: number): Promise<void> {
  const s = toPath(src, 'src')
  const d = toPath(dest, 'dest')
  const m = mode ?? 0
  const ficlone = constants.COPYFILE_FICLONE | constants.COPYFILE_FICLONE_FORCE
  if (!usesRing() || typeof m !== 'number' || !Number.isInteger(m) || m < 0 || m > 7 || (m & ficlone) !== 0) {
    return fsp.copyFile(s, d, mode)
  }
  let from: FileHandle | undefined
  let to: FileHandle | undefined
  try {
    from = await openFile(s, constants.O_RDONLY)
    const st = await from.stat()
    const excl = (m & constants.COPYFILE_EXCL) !== 0 ? constants.O_EXCL : 0
    to = await openFile(d, constants.O_WRONLY | constants.O_CREAT | excl, st.mode)
    const dt = await to.stat()
    if (dt.dev === st.dev && dt.ino === st.ino) return
    await to.truncate(0)
    await to.chmod(st.mode & 0o7777)
    await copyData(from, to)
  } catch (e) {
    if (to !== undefined) {
      await to.close().catch(() => undefined)
      to = undefined
      await fsp.unlink(d).catch(() => undefined)
    }
    throw copyError(e, s, d)
  } finally {
    await from?.close().catch(() => undefined)
    await to?.close()
  }
}

/**
 * The data loop of `copyFile`: two buffers, so that the read of the next chunk is in flight
 * while the current one is written. Reads until EOF (not until the size statx gave: the file
 * may change meanwhile); short writes are continued.
 */
async function copyData(from: FileHandle, to: FileHandle): Promise<void> {
  const bufs = [Buffer.allocUnsafeSlow(COPY_CHUNK), Buffer.allocUnsafeSlow(COPY_CHUNK)]
  let pos = 0
  let which = 0
  let reading = from._readInto(bufs[0]!, 0, COPY_CHUNK, 0)
  for (;;) {
    const n = await reading
    if (n === 0) return
    const buf = bufs[which]!
    which ^= 1
    reading = from._readInto(bufs[which]!, 0, COPY_CHUNK, pos + n)
    // Awaited below; this only keeps a failure meanwhile from counting as unhandled.
    reading.catch(() => undefined)
    try {
      let done = 0
      while (done < n) done += await to._writeFrom(buf, done, n - done, pos + done)
    } catch (e) {
      // Let the read in flight finish before the handles are closed.
      await reading.catch(() => undefined)
      throw e
    }
    pos += n
  }
}

/** Options of `rm`. */
export interface RmOptions {
  /** Ignore a missing `path` (default false). */
  readonly force?: boolean
  /** Remove directories and their contents (default false). */
  readonly recursive?: boolean
  /** Retries on EBUSY/EMFILE/... (Windows-oriented); when set, `rm` is served by node:fs. */
  readonly maxRetries?: number
  /** Milliseconds between retries; when set, `rm` is served by node:fs. */
  readonly retryDelay?: number
}

function validateRmOptions(options: unknown): { force: boolean; recursive: boolean } | undefined {
  // Node's validateRmOptions: only `undefined` means the defaults; `null`, an array or a
  // non-object go to node:fs, which refuses them with its own words, before touching anything.
  if (options === undefined) return { force: false, recursive: false }
  if (options === null || typeof options !== 'object' || Array.isArray(options)) return undefined
  const o = options as RmOptions
  if (o.maxRetries || o.retryDelay !== undefined) return undefined
  // Node's order: recursive (validateRmdirOptions), then force.
  const force = o.force === undefined ? false : o.force
  const recursive = o.recursive === undefined ? false : o.recursive
  if (typeof recursive !== 'boolean') throw invalidArgType('options.recursive', 'of type boolean', recursive)
  if (typeof force !== 'boolean') throw invalidArgType('options.force', 'of type boolean', force)
  if (o.maxRetries !== undefined) validateInteger(o.maxRetries, 'options.maxRetries', 0, 2 ** 31 - 1)
  return { force, recursive }
}

/**
 * Removes a file, or with `recursive` a directory tree (`force`: a missing path is fine).
 * io_uring `statx` + `unlinkat` for every name; directory listings come from node:fs
 * (io_uring has no getdents). Errors are Node's (`ERR_FS_EISDIR` for a directory without
 * `recursive`, served by node:fs so that it is word for word Node's).
 */
export async function rm(path: PathLike, options?: RmOptions): Promise<void> {
  const p = toPath(path)
  const opts = validateRmOptions(options)
  if (opts === undefined || !hasOp('unlinkat') || !hasOp('statx')) return fsp.rm(p, options)
  const mode = await statMode(p, false)
  if (mode < 0) {
    if (mode === ENOENT && opts.force) return
    throw systemError(mode, 'lstat', p)
  }
  const isDir = (mode & S_IFMT) === S_IFDIR
  if (isDir && !opts.recursive) return fsp.rm(p, options)
  await (isDir ? removeDir(p) : removeName(p))
}

/** rimraf's rules, as Node applies them: a name that vanished meanwhile is not an error. */
async function removeName(p: string): Promise<void> {
  const r = await raw((b, t) => b.unlink(p, false, t))
  if (r === 0 || r === ENOENT) return
  if (r === EISDIR) return removeDir(p)
  throw systemError(r, 'unlink', p)
}

async function removeDir(p: string): Promise<void> {
  let entries: Dirent[]
  try {
    entries = await fsp.readdir(p, { withFileTypes: true })
  } catch (e) {
    if ((e as SystemError).code === 'ENOENT') return
    throw e
  }
  const results = await Promise.allSettled(
    entries.map((e) => (e.isDirectory() ? removeDir(join(p, e.name)) : removeName(join(p, e.name))))
  )
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
  if (failed !== undefined) throw failed.reason
  const r = await raw((b, t) => b.unlink(p, true, t))
  if (r === 0 || r === ENOENT) return
  throw systemError(r, 'rmdir', p)
}
