/**
 * The one-trip `readFile` of a small file: open (into a slot of the ring's registered file
 * table) -> read -> read, linked (`IOSQE_IO_LINK`, `IOSQE_IO_HARDLINK`) and submitted together,
 * one completion for the three (the ops: `crates/boros-node/src/ops/read_file.rs`).
 * Not part of the public API.
 * @module
 */
import { dropToken, ring, takeToken } from '../binding.js'
import { taskAborted } from '../submit.js'
import { BufferPool, poolSlotOf } from '../buffer-pool.js'
import { systemError } from '../errors.js'
import { fixedRef } from '../file-ref.js'
import { FileHandle } from './file-handle.js'
import { READ_ERRORS_NAME_PATH } from './io.js'

/** Bytes the one-trip readFile reads first; a file with more is finished on the same descriptor. */
export const FIRST_READ = 32 * 1024
/**
 * Bytes of the one-trip readFile's second read, which says whether a short first read was the
 * end of the file (it returns 0 then) and otherwise keeps what it read.
 */
const TAIL_READ = 4 * 1024
/** One-trip readFiles in flight at once per thread (more take the plain path). */
const SCRATCH_COUNT = 64

let scratch: BufferPool | undefined

/**
 * Reads a whole file in one trip through the loop when it is shorter than {@link FIRST_READ}
 * bytes: open (into a direct descriptor) -> read (into a registered scratch buffer) -> a
 * second read that finds the end of the file, linked and submitted together, with one
 * completion for the three. The runtime closes the descriptor itself when the file was read
 * to its end or something failed. A file with more data is finished by `rest`, on the same
 * descriptor (from where the two reads left the file position), which must close it.
 * `undefined` (returned): this path cannot serve the file now (no free slot or scratch
 * buffer): use the plain path.
 */
export function readFileLinked(
  path: string,
  rest: (fh: FileHandle, first: Buffer) => Promise<Buffer>
): Promise<Buffer> | undefined {
  const b = ring()
  // Its token is taken here, not through `submit`: a cancelled task's check is made here too.
  const aborted = taskAborted()
  if (aborted !== undefined) return Promise.reject(aborted)
  scratch ??= new BufferPool({ count: SCRATCH_COUNT, size: FIRST_READ + TAIL_READ })
  const buf = scratch.acquire()
  if (buf === undefined) return undefined
  const where = poolSlotOf(buf)
  if (where === undefined) {
    scratch.release(buf)
    return undefined
  }
  const pool = scratch
  let slot = -1
  let resolve!: (data: Buffer) => void
  let reject!: (e: unknown) => void
  const promise = new Promise<Buffer>((res, rej) => {
    resolve = res
    reject = rej
  })
  const token = takeToken((r) => {
    if (r < 0) {
      // -(errno + 4096 * which): which 0 = the open failed, 1 = a read did.
      pool.release(buf)
      const failedRead = r <= -4096
      const errno = failedRead ? r + 4096 : r
      reject(
        failedRead
          ? systemError(errno, 'read', READ_ERRORS_NAME_PATH ? path : undefined)
          : systemError(errno, 'open', path)
      )
      return
    }
    // first | tail << 16: bytes of each read.
    const first = r & 0xffff
    const tail = r >>> 16
    const data = Buffer.allocUnsafe(first + tail)
    buf.copy(data, 0, 0, first)
    if (tail > 0) buf.copy(data, first, FIRST_READ, FIRST_READ + tail)
    pool.release(buf)
    if (tail === 0) resolve(data)
    // More data (or a file that returns short reads): go on on this descriptor.
    else rest(new FileHandle(fixedRef(slot)), data).then(resolve, reject)
  })
  try {
    slot = b.readFileLinked(path, 0, where.native, where.index, FIRST_READ, TAIL_READ, token)
  } catch (e) {
    dropToken(token)
    pool.release(buf)
    throw e
  }
  if (slot < 0) {
    // No free slot in the file table.
    dropToken(token)
    pool.release(buf)
    return undefined
  }
  return promise
}
