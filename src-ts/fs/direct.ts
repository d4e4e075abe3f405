/**
 * Direct descriptors (slots of the ring's registered file table) and the one-trip `readFile`:
 * open -> read -> close linked (`IOSQE_IO_LINK`, `IOSQE_IO_HARDLINK`) and submitted together.
 * Not part of the public API.
 * @module
 */
import { dropToken, ring, submit, takeToken } from '../binding.js'
import { BufferPool, poolSlotOf } from '../buffer-pool.js'
import { systemError } from '../errors.js'
import { MAX_RW } from '../validate.js'
import { FileHandle } from './file-handle.js'
import { STAT_FIELDS } from './stats.js'
import { IO_MAX_LENGTH, READ_ERRORS_NAME_PATH, tooLarge } from './io.js'

/** Index of the size in a stat output array (see `toStats`). */
const SIZE = 8

/** Bytes the one-trip readFile reads; a file that fills them is continued by a second trip. */
export const FIRST_READ = 32 * 1024
/** One-trip readFiles in flight at once per thread (more take the plain path). */
const SCRATCH_COUNT = 64

let scratch: BufferPool | undefined

/** Opens `path` into a direct descriptor; `undefined` when the file table has no free slot. */
export async function openDirect(path: string, flags: number, mode: number): Promise<FileHandle | undefined> {
  const b = ring()
  const slot = b.fileSlotAlloc()
  if (slot < 0) return undefined
  let ok = false
  try {
    await submit(
      (bb, t) => bb.openDirect(path, flags, mode, slot, t),
      (result) => {
        if (result < 0) throw systemError(result, 'open', path)
      }
    )
    ok = true
    return new FileHandle(slot, true)
  } finally {
    if (!ok) b.fileSlotFree(slot)
  }
}

/**
 * Reads a whole file in one trip through the loop when it fits in {@link FIRST_READ} bytes:
 * open (into a direct descriptor) -> read (into a registered scratch buffer) -> close,
 * linked and submitted together. A file that fills the buffer is finished by `rest`.
 * `undefined` (returned, or resolved): this path cannot serve the file (no free slot or
 * scratch buffer, or a file with no size but content, as in procfs): use the plain path.
 */
export function readFileLinked(
  path: string,
  rest: (path: string, first: Buffer) => Promise<Buffer>
): Promise<Buffer | undefined> | undefined {
  const b = ring()
  scratch ??= new BufferPool({ count: SCRATCH_COUNT, size: FIRST_READ })
  const buf = scratch.acquire()
  if (buf === undefined) return undefined
  const where = poolSlotOf(buf)
  if (where === undefined) {
    scratch.release(buf)
    return undefined
  }
  const { native, index } = where
  const pool = scratch
  const slot = b.fileSlotAlloc()
  if (slot < 0) {
    pool.release(buf)
    return undefined
  }
  const st = new Float64Array(STAT_FIELDS)
  return new Promise<Buffer | undefined>((resolve, reject) => {
    const results = [0, 0, 0, 0]
    let left = 4
    const settle = (): void => {
      b.fileSlotFree(slot)
      const [stat, opened, read, closed] = results as [number, number, number, number]
      if (opened < 0) {
        pool.release(buf)
        reject(systemError(opened, 'open', path))
      } else if (read < 0) {
        pool.release(buf)
        reject(systemError(read, 'read', READ_ERRORS_NAME_PATH ? path : undefined))
      } else if (closed < 0) {
        pool.release(buf)
        reject(systemError(closed, 'close'))
      } else {
        const data = Buffer.allocUnsafe(read)
        buf.copy(data, 0, 0, read)
        pool.release(buf)
        const size = stat === 0 ? st[SIZE]! : -1
        if (size === 0 && read > 0) {
          // A file that reports no size (procfs) and has content: read it whole on one
          // descriptor, by the plain path, so that it is one consistent view.
          resolve(undefined)
        } else if (read < FIRST_READ && read >= size) resolve(data)
        else rest(path, data).then(resolve, reject)
      }
    }
    const tokens = [0, 1, 2, 3].map((i) =>
      takeToken((result) => {
        results[i] = result
        if (--left === 0) settle()
      })
    ) as [number, number, number, number]
    try {
      b.readFileLinked(st, tokens[0], path, 0, slot, native, index, FIRST_READ, tokens[1], tokens[2], tokens[3])
    } catch (e) {
      for (const t of tokens) dropToken(t)
      b.fileSlotFree(slot)
      pool.release(buf)
      reject(e)
    }
  })
}

/**
 * Reads the rest of a file after `first` (its first bytes), with positional reads:
 * into one allocation when statx gave a size, in chunks until EOF otherwise.
 */
export async function readFrom(fh: FileHandle, first: Buffer, sizeHint: number): Promise<Buffer> {
  // Node's limit is kIoMaxLength (2 GiB - 1) on every version, not buffer.constants.MAX_LENGTH
  // (2^53 - 1 since Node 22).
  if (sizeHint > IO_MAX_LENGTH) throw tooLarge(sizeHint)
  const chunks: Buffer[] = [first]
  let filled = first.length
  if (sizeHint > filled) {
    const buf = Buffer.allocUnsafeSlow(sizeHint)
    first.copy(buf)
    while (filled < sizeHint) {
      const n = await fh._readInto(buf, filled, Math.min(sizeHint - filled, MAX_RW), filled)
      if (n === 0) return buf.subarray(0, filled)
      filled += n
    }
    chunks[0] = buf
  }
  // Until EOF: the file may have grown, or reported no size (procfs).
  for (;;) {
    const chunk = Buffer.allocUnsafe(64 * 1024)
    const n = await fh._readInto(chunk, 0, chunk.length, filled)
    if (n === 0) break
    chunks.push(chunk.subarray(0, n))
    filled += n
    if (filled > IO_MAX_LENGTH) throw tooLarge(filled)
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, filled)
}
