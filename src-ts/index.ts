/**
 * boros: asynchronous I/O for Node.js on Linux, built on io_uring.
 *
 * - `boros/fs`: a `node:fs/promises`-shaped file API.
 * - `boros/net`: a `node:net`-shaped socket API (and `listen`/`dial` without streams).
 * - `boros`: the runtime (`runtime()`, `stats()`), futures of single operations, and tasks.
 * @module
 */
export { runtime, stats, type RuntimeInfo, type RuntimeStats } from './runtime.js'
export { Future, type OpOptions } from './future.js'
export { Task, TaskGroup, spawn } from './task.js'
export { AbortError, codes, type SystemError } from './errors.js'
export * as ops from './ops.js'
export { readChunks, type ReadChunksOptions, type ChunkSource } from './chunks.js'
export type { Backend } from './binding.js'
export { BufferPool, type BufferPoolOptions } from './buffer-pool.js'
