/**
 * Options and results of `FileHandle`'s methods (the shapes `node:fs/promises` uses).
 * @module
 */
import type { Encoding } from './io.js'

/** Options of `read`. */
export interface ReadOptions<T extends NodeJS.ArrayBufferView = Buffer> {
  /** Where to read into (default: a new 16 KiB Buffer). */
  readonly buffer?: T
  /** Where in `buffer` to start writing (default 0). */
  readonly offset?: number
  /** How many bytes to read (default: the rest of `buffer`). */
  readonly length?: number
  /** Where in the file to read; `null` or omitted: the current position, which advances. */
  readonly position?: number | bigint | null
  /** Cancels the read in the kernel. */
  readonly signal?: AbortSignal
}

/** Result of `read`. */
export interface ReadResult<T extends NodeJS.ArrayBufferView> {
  readonly bytesRead: number
  readonly buffer: T
}

/** Result of `write`. */
export interface WriteResult<T> {
  readonly bytesWritten: number
  readonly buffer: T
}

/**
 * Options of `readFile` on a handle.
 * @inline
 */
export interface ReadFileOptions {
  /** Decode the contents with this encoding and resolve with a string. */
  readonly encoding?: Encoding | null
  /** Cancels the read in the kernel; the promise rejects with `AbortError`. */
  readonly signal?: AbortSignal
  /**
   * Read into this buffer (or the one this function returns for the file's size) and resolve with
   * the part read, as Node 24.22+ and 26 do; ignored, as by Node, on releases without it.
   */
  readonly buffer?: NodeJS.ArrayBufferView | ((size: number) => NodeJS.ArrayBufferView)
}

/**
 * Options of `writeFile`/`appendFile` on a handle.
 * @inline
 */
export interface WriteFileOptions {
  /** Encoding of string data (default `'utf8'`). */
  readonly encoding?: Encoding | null
  /** Cancels the write in the kernel; the promise rejects with `AbortError`. */
  readonly signal?: AbortSignal
}

/** Options of `stat`. */
export interface StatOptions {
  /** Stats with `bigint` fields (Node's `BigIntStats`), served by `node:fs` (see `runtime().paths`). */
  readonly bigint?: boolean
  /**
   * `false`: a missing entry resolves `undefined` instead of rejecting, where the running Node's
   * `fs/promises` `stat` does so (Node 25.7+, 24.22); elsewhere Node's error, as Node gives it.
   */
  readonly throwIfNoEntry?: boolean
}

/** Result of `readv`. */
export interface ReadVResult<T extends readonly NodeJS.ArrayBufferView[]> {
  /** Bytes read, over all buffers (0 at end of file). */
  readonly bytesRead: number
  /** The buffers given, filled in order. */
  readonly buffers: T
}

/** Result of `writev`. */
export interface WriteVResult<T extends readonly NodeJS.ArrayBufferView[]> {
  /** Bytes written, over all buffers (may be short, as with Node's). */
  readonly bytesWritten: number
  /** The buffers given. */
  readonly buffers: T
}
