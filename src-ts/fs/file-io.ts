/**
 * The I/O path of one `FileHandle`: every read and write of the handle picks its way here
 * (the shared submission queue, a native ring call, a `BufferPool` buffer used in place,
 * natively owned memory, node:fs for the files the ring serves badly, bigint positions), and
 * every op is counted so that `close()` can wait for the ones in flight. `FileHandle` keeps the
 * argument checks of Node's API and delegates here.
 * @module
 */
import { nodeFs } from '../node-fs.js'
import { FAST_MAX, queuePool, queueRead, queueWrite, ring } from '../binding.js'
import { submit, taskAborted } from '../submit.js'
import type { NativeBinding } from '../binding.js'
import { poolSlotOf, type PoolSlot } from '../buffer-pool.js'
import { EINVAL } from '../errno.js'
import { codedError, codes, systemError } from '../errors.js'
import { fileNumber, type FileRef } from '../file-ref.js'
import { currentTask } from '../task-context.js'
import { BOUNCE_MAX, FILE_KIND_FD } from '../wire.js'
import {
  oDirectError,
  learnRoute,
  pooledWrite,
  RING,
  routedRead,
  THREADPOOL,
  WRITE_POOL,
  WRITE_PUNT,
  WRITE_RING,
  writeRoute,
  type Route
} from './descriptor-route.js'
import { hasOp } from './op-support.js'
import { type StartWriteback, WriteBehind } from './write-behind.js'

/** Chunks of a larger positional read in flight at once. */
const CHUNK_LANES = 4

/** A native call on this handle's file: `kind` and `file` name it (see file-ref.ts). */
export type FileStart = (b: NativeBinding, kind: number, file: number, token: number) => number

/** What Node's FileHandle rejects with once closed: `code: 'EBADF'`, message `'file closed'`. */
export function ebadf(syscall: string): Error {
  return Object.assign(new Error('file closed'), { code: 'EBADF', syscall })
}

/** Reads, writes and other ops on one handle's file, and the count of those in flight. */
export class FileIo {
  /** The file, if the handle is open and not closing. */
  readonly #open: () => FileRef | undefined
  #pending = 0
  #drained: (() => void) | undefined
  /** Where a descriptor's reads go (learned on the first read, see descriptor-route.ts). */
  #route: Route | undefined
  /** The handle's write-behind (see write-behind.ts). */
  readonly #behind = new WriteBehind()

  constructor(open: () => FileRef | undefined) {
    this.#open = open
  }

  /** Resolves once no op of the handle is in flight (`close()` waits for it). */
  drained(): Promise<void> {
    return this.#pending === 0 ? Promise.resolve() : new Promise<void>((r) => (this.#drained = r))
  }

  /** An op of the handle is over (see `op`); the last one lets a waiting `close()` go on. */
  readonly #settleOne = (): void => {
    if (--this.#pending === 0 && this.#drained !== undefined) this.#drained()
  }

  /**
   * One ring op on this handle's file, counted so that `close()` waits for it. Rejects with
   * Node's error for `syscall` when the result is `-errno`.
   */
  op<T>(syscall: string, start: FileStart, map: (result: number) => T, signal?: AbortSignal | null): Promise<T> {
    const file = this.#open()
    if (file === undefined) return Promise.reject(ebadf(syscall))
    const kind = file.kind
    const n = fileNumber(file)
    this.#pending++
    return submit(
      (b, t) => start(b, kind, n, t),
      (result) => {
        if (result < 0) throw systemError(result, syscall)
        return map(result)
      },
      signal,
      this.#settleOne
    )
  }

  /**
   * A read or write through the shared submission queue (no native call): at most `FAST_MAX`
   * bytes, or any length of a `BufferPool` buffer (`pool`). `undefined` when it cannot go
   * that way now (closed, inside a task, every arena slot taken).
   */
  #queued(
    write: boolean,
    buf: NodeJS.ArrayBufferView,
    off: number,
    len: number,
    pos: number,
    pool: { readonly id: number; readonly index: number } | undefined
  ): Promise<number> | undefined {
    const file = this.#open()
    if (file === undefined || currentTask() !== undefined) return undefined
    ring()
    let resolve!: (n: number) => void
    let reject!: (e: unknown) => void
    const promise = new Promise<number>((res, rej) => {
      resolve = res
      reject = rej
    })
    const waiter = (n: number): void => {
      this.#settleOne()
      if (n < 0) reject(systemError(n, write ? 'write' : 'read'))
      else resolve(n)
    }
    if (pool !== undefined) {
      queuePool(write, file, pool.id, pool.index, buf.byteOffset + off, len, pos, waiter)
    } else if (!(write ? queueWrite : queueRead)(file, buf, off, len, pos, waiter)) return undefined
    this.#pending++
    return promise
  }

  /** The read route of a descriptor (a slot has none: its reads always go through the ring). */
  routeOf(file: FileRef): Route | undefined {
    if (file.kind !== FILE_KIND_FD) return undefined
    this.#route ??= learnRoute(file.fd)
    return this.#route
  }

  /**
   * Every read of the handle picks its path here. `owned`: `buf` is an owned buffer (see
   * `ownedBuffer`), which the kernel fills in place.
   */
  read(
    buf: NodeJS.ArrayBufferView,
    off: number,
    len: number,
    pos: number,
    signal?: AbortSignal | null,
    owned = false
  ): Promise<number> {
    const file = this.#open()
    if (file === undefined) return Promise.reject(ebadf('read'))
    // A BufferPool buffer: the kernel reads into it in place (READ_FIXED when registered).
    const pool = poolSlotOf(buf)
    if (pool !== undefined) return this.#poolIo(false, buf, pool, off, len, pos, signal)
    const route = this.routeOf(file)
    if (route !== undefined && route.kind !== RING) {
      // tmpfs/procfs/FUSE: node:fs serves the read (see descriptor-route.ts); a cancelled task's too
      // starts nothing more.
      const aborted = taskAborted()
      if (aborted !== undefined) return Promise.reject(aborted)
      this.#pending++
      const settle = (): void => this.#settleOne()
      const p = routedRead(route.kind, file.kind === FILE_KIND_FD ? file.fd : -1, buf, off, len, pos, signal)
      p.then(settle, settle)
      return p
    }
    const oDirect = route?.oDirect === true
    // Natively owned memory (`alignedBuffer`) is read into in place: the op holds the
    // allocation, so a detach cannot free it under the kernel. Asked only for reads too big for
    // the shared queue, where a bounce copy costs more than the question.
    if (owned || ((oDirect || len > FAST_MAX) && ring().isOwned(buf))) {
      // Natively owned memory: the kernel reads straight into it.
      const p = this.op('read', (b, k, f, t) => b.readOwned(k, f, buf as Buffer, off, len, pos, t), id, signal)
      return oDirect ? p.catch((e: unknown) => Promise.reject(oDirectError(e, route!))) : p
    }
    if (oDirect) return Promise.reject(oDirectError(systemError(EINVAL, 'read'), route!))
    if (signal == null && len <= FAST_MAX) {
      const p = this.#queued(false, buf, off, len, pos, undefined)
      if (p !== undefined) return p
    }
    if (len > BOUNCE_MAX && pos >= 0) return this.#chunkedRead(buf, off, len, pos, signal)
    return this.op('read', (b, k, f, t) => b.read(k, f, buf, off, len, pos, t), id, signal)
  }

  /**
   * A read into (or write from) a `BufferPool` buffer: the kernel uses the pool memory in place
   * (`READ_FIXED`/`WRITE_FIXED` when registered), through the shared queue when nothing needs
   * the op's key, a native call otherwise.
   */
  #poolIo(
    write: boolean,
    buf: NodeJS.ArrayBufferView,
    pool: PoolSlot,
    off: number,
    len: number,
    pos: number,
    signal?: AbortSignal | null
  ): Promise<number> {
    if (signal == null) {
      const p = this.#queued(write, buf, off, len, pos, pool)
      if (p !== undefined) return p
    }
    const start = buf.byteOffset + off
    return this.op(
      write ? 'write' : 'read',
      (b, k, f, t) => b.poolIo(write, k, f, pool.native, pool.index, start, len, pos, t),
      id,
      signal
    )
  }

  /** Every write of the handle picks its path here. */
  write(
    buf: NodeJS.ArrayBufferView,
    off: number,
    len: number,
    pos: number,
    signal?: AbortSignal | null
  ): Promise<number> {
    const file = this.#open()
    if (file === undefined) return Promise.reject(ebadf('write'))
    const route = this.routeOf(file)
    this.wrote(file, route, len, pos)
    const pool = poolSlotOf(buf)
    if (pool !== undefined) return this.#poolIo(true, buf, pool, off, len, pos, signal)
    if (signal == null && len <= FAST_MAX && route?.oDirect !== true) {
      const p = this.#queued(true, buf, off, len, pos, undefined)
      if (p !== undefined) return p
    }
    const how = route === undefined ? WRITE_RING : writeRoute(route)
    if (how === WRITE_POOL && file.kind === FILE_KIND_FD) {
      const aborted = taskAborted()
      if (aborted !== undefined) return Promise.reject(aborted)
      this.#pending++
      const settle = (): void => this.#settleOne()
      const p = pooledWrite(file.fd, buf, off, len, pos, signal)
      p.then(settle, settle)
      return p
    }
    const punt = how === WRITE_PUNT
    const p = this.op('write', (b, k, f, t) => b.write(k, f, buf, off, len, pos, t, punt), id, signal)
    return route?.oDirect ? p.catch((e: unknown) => Promise.reject(oDirectError(e, route))) : p
  }

  /** `file` will be synced (see write-behind.ts: such files are written behind by default). */
  expectSync(file: FileRef | undefined): void {
    this.#behind.expectSync(file === undefined ? undefined : this.routeOf(file))
  }

  /**
   * Counts a write about to be submitted to `file` for the handle's write-behind (see
   * write-behind.ts).
   */
  wrote(file: FileRef, route: Route | undefined, len: number, pos: number): void {
    this.#startWriteback.idleFd = file.kind === FILE_KIND_FD ? file.fd : -1
    this.#behind.wrote(route, len, pos, this.#startWriteback)
  }

  /** A write-back start: an op of the handle (`close()` waits for it), its result ignored. */
  readonly #startWriteback: StartWriteback = (start: FileStart, done: () => void): void => {
    this.op('sync_file_range', start, none).then(done, done)
  }

  /**
   * A positional read of more than `BOUNCE_MAX` bytes into the caller's memory, as reads of at
   * most `BOUNCE_MAX` at consecutive positions, `CHUNK_LANES` in flight: each goes through a
   * recycled bounce buffer (the runtime keeps those up to 1 MiB; a larger one would be a
   * fresh allocation, page faults included, on every read). Positional reads only happen on
   * seekable files, where one read returns short only at the end of the file: the result is
   * the bytes up to the first short chunk, as one read would return.
   */
  async #chunkedRead(
    buf: NodeJS.ArrayBufferView,
    off: number,
    len: number,
    pos: number,
    signal: AbortSignal | null | undefined
  ): Promise<number> {
    const chunks = Math.ceil(len / BOUNCE_MAX)
    const got = new Array<number>(chunks).fill(-1)
    let next = 0
    let short = false
    const lane = async (): Promise<void> => {
      while (next < chunks && !short) {
        const k = next++
        const at = k * BOUNCE_MAX
        const n = Math.min(BOUNCE_MAX, len - at)
        got[k] = await this.op('read', (b, kd, f, t) => b.read(kd, f, buf, off + at, n, pos + at, t), id, signal)
        if (got[k]! < n) short = true
      }
    }
    const lanes = await Promise.allSettled(Array.from({ length: Math.min(CHUNK_LANES, chunks) }, lane))
    const failed = lanes.find((r) => r.status === 'rejected')
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason
    let total = 0
    for (let k = 0; k < chunks; k++) {
      total += got[k]!
      if (got[k]! < Math.min(BOUNCE_MAX, len - k * BOUNCE_MAX)) break
    }
    return total
  }

  /**
   * Runs `use` with a descriptor for this handle's file, for calls io_uring has no opcode for
   * (`fchmod`, `fchown`, `futimens`, `fstat` with bigints) and for `statx`, which cannot take a
   * registered-file slot. A descriptor handle uses its own; a direct handle gets one installed
   * for the call (`IORING_OP_FIXED_FD_INSTALL`, Linux 6.8), closed after it. Counted like a ring
   * op, so `close()` waits for it.
   */
  withDescriptor<T>(syscall: string, use: (fd: number) => Promise<T>): Promise<T> {
    const file = this.#open()
    if (file === undefined) return Promise.reject(ebadf(syscall))
    // Like a ring op: a cancelled task starts nothing more.
    const aborted = taskAborted()
    if (aborted !== undefined) return Promise.reject(aborted)
    this.#pending++
    const settle = (): void => this.#settleOne()
    let p: Promise<T>
    if (file.kind === FILE_KIND_FD) {
      p = use(file.fd)
    } else if (!hasOp('fixed_fd_install')) {
      p = Promise.reject(
        codedError(
          Error,
          codes.UNSUPPORTED_OP,
          `${syscall} on a direct descriptor needs a descriptor for the file, which needs io_uring fixed_fd_install (Linux 6.8; running ${ring().ringInfo().kernel}); open the file without { direct: true }`
        )
      )
    } else {
      const slot = file.slot
      p = submit(
        (b, t) => b.installFd(slot, t),
        (fd) => {
          if (fd < 0) throw systemError(fd, syscall)
          return fd
        }
      ).then((fd) =>
        use(fd).finally(() =>
          submit(
            (b, t) => b.close(FILE_KIND_FD, fd, t),
            () => undefined,
            undefined,
            undefined,
            { detached: true }
          )
        )
      )
    }
    p.then(settle, settle)
    return p
  }

  /** A `node:fs` callback call on a descriptor of this file (see `withDescriptor`). */
  nodeFs<T>(syscall: string, call: (fd: number, cb: (err: Error | null, value?: T) => void) => void): Promise<T> {
    return this.withDescriptor(
      syscall,
      (fd) => new Promise<T>((resolve, reject) => call(fd, (err, value) => (err ? reject(err) : resolve(value as T))))
    )
  }

  /**
   * The file's size now, for readFile's check after its reads (see `readAll`): a
   * descriptor on a local filesystem by a synchronous `fstat` (it never waits), anything else
   * through `stat` (the handle's `stat()`); `undefined` where it cannot be known (closed, no `fixed_fd_install`).
   */
  sizeNow(stat: () => Promise<{ isFile(): boolean; size: number }>): Promise<number | undefined> | number | undefined {
    const file = this.#open()
    if (file === undefined) return undefined
    if (file.kind === FILE_KIND_FD && this.routeOf(file)?.kind !== THREADPOOL) {
      try {
        const st = nodeFs.fstatSync(file.fd)
        return st.isFile() ? st.size : undefined
      } catch {
        return undefined
      }
    }
    return stat().then(
      (st) => (st.isFile() ? st.size : undefined),
      () => undefined
    )
  }

  /**
   * Runs `use` with a way to read the file's size now (a regular file's; `undefined`
   * otherwise or where it cannot be known), on one descriptor for the whole call: the handle's
   * own, or for a direct handle one installed once (`fixed_fd_install`) and closed after, so
   * that readFile's size before and after its reads costs two ring ops, not two `statx`es on
   * io-wq. The size comes from a synchronous `fstat` on local filesystems, from the threadpool
   * on procfs/sysfs/FUSE (descriptor-route.ts).
   */
  withSizes<T>(use: (sizeNow: () => Promise<number | undefined> | number | undefined) => Promise<T>): Promise<T> {
    const unknown = (): undefined => undefined
    let started = false
    return this.withDescriptor('fstat', (fd) => {
      started = true
      return use(sizeOf(fd))
    }).catch((e: unknown) => {
      // No descriptor to be had (no fixed_fd_install before 6.8, a full descriptor table):
      // the sizes are unknown, and the caller reads until EOF. Errors of `use` are its own.
      if (started) throw e
      return use(unknown)
    })
  }

  /**
   * A read at a position past 2^53 - 1, which no double (and so no shared-queue entry or native
   * argument) can carry exactly: served by `node:fs`, which takes bigint read positions, on a
   * descriptor of the file (the kernel then answers EFBIG/EOVERFLOW, or 0 at the end).
   */
  farRead(buf: NodeJS.ArrayBufferView, off: number, len: number, pos: bigint): Promise<number> {
    return this.nodeFs<number>('read', (fd, cb) => nodeFs.read(fd, buf, off, len, pos, cb))
  }
}

/** The result of an op, as it is. */
export function id(n: number): number {
  return n
}

/** No result. */
export function none(): void {}

/** The size of a regular file open on `fd`, read as `_withSizes` says. */
function sizeOf(fd: number): () => Promise<number | undefined> | number | undefined {
  const regular = (st: { isFile(): boolean; size: number }): number | undefined => (st.isFile() ? st.size : undefined)
  if (learnRoute(fd).kind === THREADPOOL) {
    return () => new Promise((resolve) => nodeFs.fstat(fd, (err, st) => resolve(err ? undefined : regular(st))))
  }
  return () => {
    try {
      return regular(nodeFs.fstatSync(fd))
    } catch {
      return undefined
    }
  }
}
