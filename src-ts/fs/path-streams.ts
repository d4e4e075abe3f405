/**
 * `createReadStream` / `createWriteStream` of `boros/fs`: Node's own `fs.ReadStream` /
 * `fs.WriteStream` over a path or a boros `FileHandle`, every call through io_uring (the
 * machinery: streams.ts).
 * @module
 */
import * as fs from 'node:fs'
import { usesRing } from '../binding.js'
import { toPath, type PathLike } from '../validate.js'
import { FileHandle } from './file-handle.js'
import { isFallbackHandle, open } from './open.js'
import {
  handleReadStream,
  handleWriteStream,
  hasOwnFs,
  pathReadStream,
  pathWriteStream,
  type ReadStreamOptions,
  type WriteStreamOptions
} from './streams.js'

/**
 * Node's `fs.createReadStream`, reading through io_uring. `path` may be a path or a boros
 * `FileHandle` (read from it; closed at the end unless `autoClose: false`). All of Node's
 * options: `flags`, `encoding`, `mode`, `autoClose`, `emitClose`, `start`, `end`,
 * `highWaterMark`, `signal` (which also cancels the read in flight in the kernel).
 */
export function createReadStream(
  path: PathLike | FileHandle,
  options?: ReadStreamOptions | BufferEncoding
): fs.ReadStream {
  const opts = typeof options === 'string' ? { encoding: options } : options
  if (path instanceof FileHandle) return handleReadStream(path, opts)
  // The fallback's handles are Node's: Node takes them as `fd`, not as a path.
  if (isFallbackHandle(path)) return fs.createReadStream(null as never, { ...opts, fd: path } as never)
  // No ring, or the caller's own `fs` does the I/O: Node's stream as it is.
  if (!usesRing() || hasOwnFs(opts)) return fs.createReadStream(path, opts as Parameters<typeof fs.createReadStream>[1])
  return pathReadStream(toPath(path), opts, open)
}

/**
 * Node's `fs.createWriteStream`, writing through io_uring. `path` may be a path or a boros
 * `FileHandle`. All of Node's options: `flags`, `encoding`, `mode`, `autoClose`, `emitClose`,
 * `start`, `flush` (fsync before close), `highWaterMark`, `signal`.
 */
export function createWriteStream(
  path: PathLike | FileHandle,
  options?: WriteStreamOptions | BufferEncoding
): fs.WriteStream {
  const opts = typeof options === 'string' ? { encoding: options } : options
  if (path instanceof FileHandle) return handleWriteStream(path, opts)
  if (isFallbackHandle(path)) return fs.createWriteStream(null as never, { ...opts, fd: path } as never)
  // No ring, or the caller's own `fs` does the I/O: Node's stream as it is.
  if (!usesRing() || hasOwnFs(opts))
    return fs.createWriteStream(path, opts as Parameters<typeof fs.createWriteStream>[1])
  return pathWriteStream(toPath(path), opts, open)
}
