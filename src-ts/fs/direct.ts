/**
 * Direct descriptors (slots of the ring's registered file table) and the one-trip `readFile`:
 * open -> read -> close linked (`IOSQE_IO_LINK`, `IOSQE_IO_HARDLINK`) and submitted together.
 * Not part of the public API.
 * @module
 */
import { dropToken, ring, submit, takeToken } from '../binding.js'
import { BufferPool, poolSlotOf } from '../buffer-pool.js'
import { systemError } from '../errors.js'
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

/** Closes direct descriptor `slot` without waiting; the slot is freed once the close completed. */
function closeSlot(b: ReturnType<typeof ring>, slot: number): void {
  const token = takeToken(() => b.fileSlotFree(slot))
  try {
    b.targetClose(-2 - slot, token)
  } catch {
    // The ring is going away, and its file table with it.
    dropToken(token)
  }
}

/**
 * Reads a whole file in one trip through the loop when it is shorter than {@link FIRST_READ}
 * bytes: open (into a direct descriptor) -> read (into a registered scratch buffer) -> a
 * second read that finds the end of the file, linked and submitted together. The close of
 * the descriptor goes out with the next submit, unawaited.
 * A file with more data is finished by `rest`, on the same descriptor (from where the two
 * reads left the file position), which must close it.
 * `undefined` (returned): this path cannot serve the file now (no free slot or scratch
 * buffer): use the plain path.
 */
export function readFileLinked(
  path: string,
  rest: (fh: FileHandle, first: Buffer) => Promise<Buffer>
): Promise<Buffer> | undefined {
  const b = ring()
  scratch ??= new BufferPool({ count: SCRATCH_COUNT, size: FIRST_READ + TAIL_READ })
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
  return new Promise<Buffer>((resolve, reject) => {
    // One result per linked op, in chain order: open, read, tail read.
    const results = [0, 0, 0]
    let left = 3
    const settle = (): void => {
      const [opened, read, tail] = results as [number, number, number]
      if (opened < 0) {
        // A failed open leaves the slot empty.
        b.fileSlotFree(slot)
        pool.release(buf)
        reject(systemError(opened, 'open', path))
        return
      }
      // The first error, or 0.
      const failed = read < 0 ? read : Math.min(tail, 0)
      let data: Buffer | undefined
      if (failed === 0) {
        data = Buffer.allocUnsafe(read + tail)
        buf.copy(data, 0, 0, read)
        if (tail > 0) buf.copy(data, read, FIRST_READ, FIRST_READ + tail)
      }
      pool.release(buf)
      if (failed === 0 && tail > 0) {
        // More data (or a file that returns short reads): go on on this descriptor.
        rest(new FileHandle(slot, true), data!).then(resolve, reject)
        return
      }
      // The whole file was read (or a read failed): settle now; the close goes out with the
      // next submit and frees the slot when it completes. Nothing waits for it: a direct
      // descriptor is invisible outside the ring, and closing a file opened read-only reports
      // nothing a reader could act on.
      closeSlot(b, slot)
      if (failed < 0) reject(systemError(failed, 'read', READ_ERRORS_NAME_PATH ? path : undefined))
      else resolve(data!)
    }
    const tokens = [0, 1, 2].map((i) =>
      takeToken((result) => {
        results[i] = result
        if (--left === 0) settle()
      })
    ) as [number, number, number]
    try {
      b.readFileLinked(path, 0, slot, native, index, FIRST_READ, TAIL_READ, tokens[0], tokens[1], tokens[2])
    } catch (e) {
      for (const t of tokens) dropToken(t)
      b.fileSlotFree(slot)
      pool.release(buf)
      reject(e)
    }
  })
}
