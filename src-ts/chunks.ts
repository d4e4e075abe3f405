/**
 * `readChunks`: an async iterator over whatever a pipe, FIFO, character device or any other
 * readable descriptor delivers, built on a multishot read (Linux 6.7) into a provided buffer
 * ring (Linux 5.19). See docs/bufring.md.
 * @module
 */
import { nodeFs as fs } from './node-fs.js'
import { backendState, closeStream, openStream, ring } from './binding.js'
import { abortError, submit } from './submit.js'
import { EAGAIN, EBADFD, EINVAL, ENOBUFS } from './errno.js'
import { invalidArgType, outOfRange, systemError } from './errors.js'
import { CHUNK_MAX_BUFFER_SIZE, CHUNK_MAX_BUFFERS, EVENT_REARM, FILE_KIND_FD } from './wire.js'
import { validateFd, validateInteger, validateSignal } from './validate.js'

/** Options of {@link readChunks}. */
export interface ReadChunksOptions {
  /** Stops the iteration: the pending read is cancelled in the kernel and the iterator rejects with `AbortError`. */
  signal?: AbortSignal
  /** Most bytes per chunk (the size of each ring buffer). Default 64 KiB; 1 to 16 MiB. */
  bufferSize?: number
  /**
   * Ring buffers the kernel can fill before JS has copied them out (rounded up to a power of
   * two). Default 16; 1 to 32768. Memory used: `bufferSize * bufferCount`, for as long as
   * the iteration runs.
   */
  bufferCount?: number
  /**
   * `true`/`false` force the multishot path or the single-read path; by default multishot is
   * used when the kernel has `read_multishot` (6.7+) and lets boros register its buffer ring
   * (without locked memory, `RLIMIT_MEMLOCK`, single reads are used instead). The environment
   * variable `BOROS_MULTISHOT=0` forces single reads too.
   */
  multishot?: boolean
}

/** A descriptor, or anything with a numeric `fd` (a boros or `node:fs/promises` FileHandle). */
export type ChunkSource = number | { readonly fd: number }

/**
 * Reads `source` until end of file, yielding each chunk as soon as it arrives, as a `Buffer`
 * that belongs to the caller (it is copied out of the kernel's buffer, which is reused at
 * once; like a socket's `'data'`, it may share its `ArrayBuffer` with other chunks of the
 * same batch). Meant for pipes, FIFOs and character devices, e.g. a child process's
 * stdout redirected into a FIFO; it works on regular files too (with single reads).
 *
 * With io_uring and Linux 6.7+, one multishot read stays armed in the kernel for the whole
 * iteration: the kernel picks a buffer from a ring of `bufferCount` buffers each time data
 * arrives, so there is no per-chunk submission. On older kernels, when forced with
 * `multishot: false`, or on descriptors the kernel cannot poll, it issues one read at a
 * time. Without io_uring (the `node:fs` fallback), it reads with `fs.read`.
 *
 * Leaving a `for await` early (`break`, `return`, an exception) cancels the armed read in
 * the kernel and releases the buffer ring; so does aborting `signal`, which also rejects
 * the pending `next()` with `AbortError`. The descriptor itself is left open.
 *
 * Read errors reject with a Node-shaped error (`code`, `errno`, `syscall: 'read'`).
 * Bad arguments throw at once (`ERR_INVALID_ARG_TYPE`, `ERR_OUT_OF_RANGE`).
 *
 * @example
 * ```ts
 * import { readChunks } from 'boros'
 * for await (const chunk of readChunks(fd, { bufferSize: 16384 })) process.stdout.write(chunk)
 * ```
 */
export function readChunks(source: ChunkSource, options: ReadChunksOptions = {}): AsyncIterableIterator<Buffer> {
  const fd = typeof source === 'object' && source !== null ? (source as { fd: unknown }).fd : source
  if (typeof source === 'object' && source !== null && typeof fd !== 'number') {
    throw invalidArgType('source', 'of type number or a FileHandle', source)
  }
  validateFd(fd)
  if (typeof options !== 'object' || options === null) throw invalidArgType('options', 'of type object', options)
  const { signal, bufferSize = 64 * 1024, bufferCount = 16, multishot } = options
  validateSignal(signal)
  validateInteger(bufferSize, 'options.bufferSize', 1, CHUNK_MAX_BUFFER_SIZE)
  validateInteger(bufferCount, 'options.bufferCount', 1, CHUNK_MAX_BUFFERS)
  if (multishot !== undefined && typeof multishot !== 'boolean') {
    throw invalidArgType('options.multishot', 'of type boolean', multishot)
  }
  const count = 2 ** Math.ceil(Math.log2(bufferCount))
  if (count > CHUNK_MAX_BUFFERS) {
    throw outOfRange('options.bufferCount', `>= 1 && <= ${CHUNK_MAX_BUFFERS}`, bufferCount)
  }
  if (backendState().backend !== 'io_uring') return fsReads(fd, bufferSize, signal)
  const useMultishot = multishot ?? (process.env.BOROS_MULTISHOT !== '0' && hasMultishot())
  return useMultishot
    ? multishotReads(fd, bufferSize, count, signal, multishot === undefined)
    : singleReads(fd, bufferSize, signal)
}

/**
 * Whether `e` (from `chunksOpen`) says the kernel refused the buffer ring for lack of locked
 * memory (`RLIMIT_MEMLOCK` without CAP_IPC_LOCK, a memory cgroup): single reads need none.
 */
function lockedMemoryRefused(e: unknown): boolean {
  return /os error 12\b|ENOMEM/.test(String((e as Error)?.message))
}

let multishotSupported: boolean | undefined
function hasMultishot(): boolean {
  multishotSupported ??= ring().ringInfo().ops.includes('read_multishot')
  return multishotSupported
}

/**
 * One multishot read armed at a time on a registered buffer ring. Its CQEs arrive as stream
 * events, like a socket's receive (`binding.ts` `openStream`): bytes (a slice of the batch's
 * data, copied out of the kernel's buffer at reap), `0` at end of file, `EVENT_REARM`, or
 * `-errno`. The stream id is closed only after the read's last event.
 */
async function* multishotReads(
  fd: number,
  size: number,
  count: number,
  signal: AbortSignal | undefined,
  mayFallBack = false
): AsyncGenerator<Buffer> {
  if (signal?.aborted) throw abortError(signal)
  const b = ring()
  let id: number
  try {
    id = b.chunksOpen(fd, size, count)
  } catch (e) {
    // No locked memory for the buffer ring (issue 24): single reads, unless multishot was asked for.
    if (!mayFallBack || !lockedMemoryRefused(e)) throw e
    yield* singleReads(fd, size, signal)
    return
  }
  const queue: Array<Buffer | number> = []
  let wake: (() => void) | undefined
  let armed = false
  let done = false
  const events = openStream((result, data, offset) => {
    if (result > 0) {
      queue.push(data!.subarray(offset, offset + result))
    } else {
      // The read's last event.
      armed = false
      if (done) closeStream(events)
      else queue.push(result)
    }
    const w = wake
    wake = undefined
    w?.()
  })
  const arm = (): void => {
    b.chunksArm(id, events)
    armed = true
  }
  const onAbort = (): void => {
    try {
      b.chunksCancel(id)
    } catch {
      // Already closed: nothing is armed.
    }
  }
  signal?.addEventListener('abort', onAbort, { once: true })
  let fellBack = false
  try {
    arm()
    for (;;) {
      if (signal?.aborted) throw abortError(signal)
      const next = queue.shift()
      if (next === undefined) {
        await new Promise<void>((resolve) => {
          wake = resolve
        })
        continue
      }
      if (typeof next !== 'number') {
        yield next
        continue
      }
      if (next === 0) return
      if (next === EVENT_REARM || next === ENOBUFS || next === EAGAIN) {
        // The ring ran dry (or the kernel stopped the multishot): every buffer is back by now.
        arm()
        continue
      }
      if (next === EBADFD || next === EINVAL) {
        // Not a pollable file (a regular file, say): carry on with single reads.
        fellBack = true
        break
      }
      throw systemError(next, 'read')
    }
  } finally {
    signal?.removeEventListener('abort', onAbort)
    done = true
    // The id goes when the read's last event is in (at once when none is armed).
    if (!armed) closeStream(events)
    try {
      b.chunksClose(id)
    } catch {
      // The runtime is shutting down; its teardown cancels and collects the read.
    }
  }
  if (fellBack) yield* singleReads(fd, size, signal)
}

/** One read at a time (the kernel polls the descriptor, then reads). */
async function* singleReads(fd: number, size: number, signal: AbortSignal | undefined): AsyncGenerator<Buffer> {
  let buf = Buffer.allocUnsafe(size)
  for (;;) {
    const target = buf
    const n = await submit(
      (b, token) => b.read(FILE_KIND_FD, fd, target, 0, size, -1, token),
      (r) => {
        if (r < 0) throw systemError(r, 'read')
        return r
      },
      signal
    )
    if (n === 0) return
    if (n === size) {
      buf = Buffer.allocUnsafe(size)
      yield target
    } else {
      yield Buffer.from(target.subarray(0, n))
    }
  }
}

/** The node:fs fallback: `fs.read`, retrying a non-blocking descriptor that has no data yet. */
async function* fsReads(fd: number, size: number, signal: AbortSignal | undefined): AsyncGenerator<Buffer> {
  for (;;) {
    if (signal?.aborted) throw abortError(signal)
    const buf = Buffer.allocUnsafe(size)
    const n = await new Promise<number>((resolve, reject) => {
      fs.read(fd, buf, 0, size, null, (err, bytes) => {
        if (err && (err as NodeJS.ErrnoException).code === 'EAGAIN') resolve(-1)
        else if (err) reject(err)
        else resolve(bytes)
      })
    })
    if (n === 0) return
    if (n < 0) {
      await new Promise((r) => setTimeout(r, 5))
      continue
    }
    yield n === size ? buf : Buffer.from(buf.subarray(0, n))
  }
}
