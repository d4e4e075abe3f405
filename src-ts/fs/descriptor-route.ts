/**
 * Where a descriptor's reads go. Files on filesystems that cannot take non-blocking reads
 * (tmpfs, procfs, sysfs, FUSE...) would have every io_uring read punted to a kernel worker
 * thread, which is slower than `node:fs`; their reads are routed instead (see
 * docs/files-internals.md for the measurements). The decision is made once per FileHandle,
 * from `fstatfs(2)`, and cached on the handle.
 * Not part of the public API.
 * @module
 */
import { nodeFs as fs } from '../node-fs.js'
import { ring } from '../binding.js'
import { abortError } from '../submit.js'

/** io_uring, the default. */
export const RING = 0
/** `pread` on the JS thread: tmpfs/ramfs, where a read is a memory copy that never waits. */
export const SYNC = 1
/** libuv's threadpool (`fs.read`), as node:fs does: procfs, sysfs, FUSE, whose reads may wait. */
export const THREADPOOL = 2

/** A descriptor's read route and `O_DIRECT` facts. */
export interface Route {
  readonly kind: typeof RING | typeof SYNC | typeof THREADPOOL
  /** The file was opened with `O_DIRECT`. */
  readonly oDirect: boolean
  /** `O_DIRECT` alignment of buffer addresses (0: unknown). */
  readonly memAlign: number
  /** `O_DIRECT` alignment of lengths and positions (0: unknown). */
  readonly offsetAlign: number
  /** `f_type` of `fstatfs(2)`. */
  readonly fsType: number
  /** A regular file (its writes may be punted to io-wq; a pipe's or a tty's are polled). */
  readonly regular: boolean
  /** The file's identity (`"major:minor:inode"`), the same for every descriptor of it; `""` if unknown. */
  readonly file: string
  /** The file's size when the route was learned (0 if unknown): below it, writes overwrite in place. */
  readonly size: number
}

const TMPFS_MAGIC = 0x01021994
const RAMFS_MAGIC = 0x858458f6
const THREADPOOL_TYPES = new Set([
  0x00009fa0, // PROC_SUPER_MAGIC
  0x62656572, // SYSFS_MAGIC
  0x65735546, // FUSE_SUPER_MAGIC
  0x63677270, // CGROUP2_SUPER_MAGIC
  0x0027e0eb, // CGROUP_SUPER_MAGIC
  0x64626720, // DEBUGFS_MAGIC
  0x74726163, // TRACEFS_MAGIC
  0x62656570, // CONFIGFS_MAGIC
  0x73636673 // SECURITYFS_MAGIC
])

/**
 * Learns the route of `fd`. `BOROS_FS_ROUTING=off` keeps every read on io_uring (for
 * measurements and debugging).
 */
export function learnRoute(fd: number): Route {
  const info = ring().fdInfo(fd)
  let kind: Route['kind'] = RING
  if (process.env.BOROS_FS_ROUTING !== 'off') {
    if (info.fsType === TMPFS_MAGIC || info.fsType === RAMFS_MAGIC) kind = SYNC
    else if (THREADPOOL_TYPES.has(info.fsType)) kind = THREADPOOL
  }
  return {
    kind,
    oDirect: info.oDirect,
    memAlign: info.dioMemAlign || 4096,
    offsetAlign: info.dioOffsetAlign || 512,
    fsType: info.fsType,
    regular: info.regular,
    file: info.file,
    size: info.size
  }
}

/** A read on the SYNC or THREADPOOL route. Resolves with the bytes read. */
export function routedRead(
  kind: typeof SYNC | typeof THREADPOOL,
  fd: number,
  buf: NodeJS.ArrayBufferView,
  off: number,
  len: number,
  pos: number,
  signal?: AbortSignal | null
): Promise<number> {
  if (signal?.aborted) return Promise.reject(abortError(signal))
  const position = pos < 0 ? null : pos
  if (kind === SYNC) {
    try {
      return Promise.resolve(fs.readSync(fd, buf, off, len, position))
    } catch (e) {
      return Promise.reject(e)
    }
  }
  return new Promise((resolve, reject) => {
    fs.read(fd, buf, off, len, position, (err, n) => {
      if (err) reject(err)
      else if (signal?.aborted) reject(abortError(signal))
      else resolve(n)
    })
  })
}

/** A write through the ring, as it comes (the kernel tries it without blocking first). */
export const WRITE_RING = 0
/** A write through the ring with `IOSQE_ASYNC`: straight to an io-wq worker. */
export const WRITE_PUNT = 1
/** A write on libuv's threadpool (`fs.write`), as node:fs does. */
export const WRITE_POOL = 2
export type WriteRoute = typeof WRITE_RING | typeof WRITE_PUNT | typeof WRITE_POOL

const WRITE_ROUTES: Record<string, WriteRoute> = { ring: WRITE_RING, async: WRITE_PUNT, pool: WRITE_POOL }
/** `BOROS_WRITE_ROUTE=ring|async|pool` forces one write route (for the bench's side-by-side rows). */
let forcedWrite: WriteRoute | undefined = WRITE_ROUTES[process.env.BOROS_WRITE_ROUTE ?? '']

/**
 * @internal Forces a write route in this thread from now on (`undefined`: the measured default),
 * for bench/extra/write-route.mjs, which interleaves the routes in one process.
 */
export function _forceWriteRoute(name: 'ring' | 'async' | 'pool' | undefined): void {
  forcedWrite = name === undefined ? undefined : WRITE_ROUTES[name]
}

/**
 * The route of a buffered write too large for the shared queue (over `FAST_MAX`) to a descriptor
 * whose read route is `route`, chosen by measurement (bench/extra/write-route.mjs; figures in
 * docs/files-internals.md, "Writes: the route"): ring+`IOSQE_ASYNC`, straight to an io-wq
 * worker. Buffered ext4 writes cannot be done without blocking, so the ring's non-blocking
 * attempt only adds a failed try on the JS thread before the same punt; on ext4 and tmpfs the
 * ring with and without `IOSQE_ASYNC` measured the same within the machine's noise, and the
 * thread pool was never faster than either (it is what fs/promises uses). `O_DIRECT` writes stay
 * as they are (the block layer takes them without blocking), and so do writes to anything but a
 * regular file: a pipe's, socket's or tty's write waits for its reader, and the ring polls it
 * instead of parking an io-wq worker on it.
 */
export function writeRoute(route: Route): WriteRoute {
  if (forcedWrite !== undefined) return forcedWrite
  return route.regular && !route.oDirect ? WRITE_PUNT : WRITE_RING
}

/** A write on libuv's threadpool. Resolves with the bytes written. */
export function pooledWrite(
  fd: number,
  buf: NodeJS.ArrayBufferView,
  off: number,
  len: number,
  pos: number,
  signal?: AbortSignal | null
): Promise<number> {
  if (signal?.aborted) return Promise.reject(abortError(signal))
  return new Promise((resolve, reject) => {
    fs.write(fd, buf, off, len, pos < 0 ? null : pos, (err, n) => {
      if (err) reject(err)
      else resolve(n)
    })
  })
}

/**
 * Rewrites an `EINVAL` from an `O_DIRECT` descriptor into a message that names the alignment
 * (code, errno and syscall stay Node's).
 */
export function oDirectError(err: unknown, route: Route): unknown {
  const e = err as { code?: string; message: string }
  if (route.oDirect && e?.code === 'EINVAL') {
    e.message +=
      ` (O_DIRECT: the buffer's address must be a multiple of ${route.memAlign} bytes and the length and` +
      ` position multiples of ${route.offsetAlign}; allocate buffers with alignedBuffer(size, ${Math.max(route.memAlign, 4096)}))`
  }
  return err
}
