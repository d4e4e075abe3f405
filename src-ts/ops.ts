/**
 * Low-level operations: each submits exactly one io_uring SQE and returns its `Future`.
 * They take raw descriptors and reject with Node-shaped system errors. `boros/fs` is built
 * on the same path and is what most code wants.
 * @module
 */
import { systemError } from './errors.js'
import { FILE_KIND_FD } from './wire.js'
import { Future, type OpOptions } from './future.js'
import {
  validateBuffer,
  validateFd,
  validateOffsetLength,
  validatePosition,
  toPath,
  type PathLike
} from './validate.js'

function check(syscall: string, path?: string) {
  return (result: number): number => {
    if (result < 0) throw systemError(result, syscall, path)
    return result
  }
}

/** A no-op through the ring: resolves once the kernel has completed it. */
export function nop(options?: OpOptions): Future<void> {
  return new Future(
    (b, t) => b.nop(t),
    () => undefined,
    options
  )
}

/** Checks the arguments shared by `read` and `write`; returns the native position (-1: current). */
function validateIo(
  fd: number,
  buffer: NodeJS.ArrayBufferView,
  offset: number,
  length: number,
  position: unknown
): number {
  validateFd(fd)
  validateBuffer(buffer)
  validateOffsetLength(offset, length, buffer.byteLength)
  return validatePosition(position)
}

/**
 * Reads up to `length` bytes at `position` (`null`: the current file position) into
 * `buffer[offset..]`; resolves with the number of bytes read (0 at end of file).
 */
export function read(
  fd: number,
  buffer: NodeJS.ArrayBufferView,
  offset = 0,
  length = buffer.byteLength - offset,
  position: number | bigint | null = null,
  options?: OpOptions
): Future<number> {
  const pos = validateIo(fd, buffer, offset, length, position)
  return new Future((b, t) => b.read(FILE_KIND_FD, fd, buffer, offset, length, pos, t), check('read'), options)
}

/** Writes `buffer[offset..offset+length]` at `position` (`null`: current position); resolves with bytes written. */
export function write(
  fd: number,
  buffer: NodeJS.ArrayBufferView,
  offset = 0,
  length = buffer.byteLength - offset,
  position: number | bigint | null = null,
  options?: OpOptions
): Future<number> {
  const pos = validateIo(fd, buffer, offset, length, position)
  return new Future((b, t) => b.write(FILE_KIND_FD, fd, buffer, offset, length, pos, t), check('write'), options)
}

/** `openat(2)`: resolves with a raw descriptor (opened with `O_CLOEXEC`). */
export function open(path: PathLike, flags: number, mode = 0o666, options?: OpOptions): Future<number> {
  const p = toPath(path)
  return new Future((b, t) => b.open(p, flags, mode, t), check('open', p), options)
}

/** `close(2)`. */
export function close(fd: number, options?: OpOptions): Future<void> {
  validateFd(fd)
  return new Future(
    (b, t) => b.close(FILE_KIND_FD, fd, t),
    (r) => void check('close')(r),
    options
  )
}

/** `fsync(2)`, or `fdatasync(2)` with `datasync`. */
export function fsync(fd: number, datasync = false, options?: OpOptions): Future<void> {
  validateFd(fd)
  return new Future(
    (b, t) => b.fsync(FILE_KIND_FD, fd, datasync, t),
    (r) => void check(datasync ? 'fdatasync' : 'fsync')(r),
    options
  )
}
