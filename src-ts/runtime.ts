/**
 * What the runtime of this thread is: `runtime()` and `stats()`.
 * @module
 */
import { backendState, nativeBinding, ring, type Backend } from './binding.js'
import { fsPaths } from './fs/op-support.js'
import { counters } from './net/counters.js'

/** How this thread's I/O is done. */
export interface RuntimeInfo {
  /** The running kernel (`uname -r`). */
  readonly kernel: string
  /** `'io_uring'`, or `'fallback'` (node:fs) when io_uring cannot be used here. */
  readonly backend: Backend
  /** Why the fallback is in use (only when `backend === 'fallback'`). */
  readonly fallbackReason?: string
  /** `IORING_SETUP_*` flags in force, without the prefix, e.g. `'DEFER_TASKRUN'`. Never `'SQPOLL'`. */
  readonly setupFlags: readonly string[]
  /** Submission queue size. */
  readonly sqEntries: number
  /** Completion queue size. */
  readonly cqEntries: number
  /**
   * Why the rings are smaller than boros asks for (4096/8192 entries), if they are: locked
   * memory was short (`ulimit -l`), so fewer operations go out per `io_uring_enter`.
   */
  readonly shrunk?: string | null
  /** io_uring operations this kernel supports. */
  readonly ops: readonly string[]
  /**
   * Which path each `boros/fs` function and `FileHandle` method takes here, e.g.
   * `{ rename: 'io_uring: renameat', readdir: 'node:fs (no io_uring opcode)' }` (docs/fs.md).
   */
  readonly paths: Readonly<Record<string, string>>
}

/** Counters of this thread's ring. */
export interface RuntimeStats {
  /** Operations handed to the kernel. */
  readonly opsSubmitted: number
  /** Operations completed. */
  readonly opsCompleted: number
  /** `io_uring_enter` system calls made. */
  readonly enterCalls: number
  /** `io_uring_enter` calls that submitted operations. */
  readonly batches: number
  /** Operations queued or in flight. */
  readonly inFlight: number
  /** Buffers of the thread's shared receive group in circulation (16 KiB each; it grows when receives find it empty, and shrinks when demand drops). */
  readonly recvBuffers: number
  /** The most buffers the shared receive group ever had in circulation. */
  readonly recvBuffersMost: number
  /** Times the shared receive group grew. */
  readonly recvBufferGrows: number
  /** Times the shared receive group shrank. */
  readonly recvBufferShrinks: number
  /** Receives that stopped because the shared receive group was empty (each is armed again). */
  readonly recvStarved: number
  /** boros/http zero-copy sends of large response bodies (`SENDMSG_ZC`, Linux 6.1) on this thread. */
  readonly httpZeroCopySends: number
  /** Of those, the ones the kernel reported it copied after all (on loopback it always does). */
  readonly httpZeroCopyCopied: number
  /**
   * `recv(2)`s that brought bytes to the one `boros/net` receive this thread takes by readiness
   * (libuv polls that socket, as node:net does, instead of the ring: the first receive armed
   * while no other holds that place; docs/net.md, "One connection by readiness").
   */
  readonly readinessReads: number
  /** `boros/net` connections open on this thread's ring (accepted or connected). */
  readonly sockets: number
  /** `boros/net` listening sockets open on this thread's ring. */
  readonly listeners: number
}

/** Describes the runtime of the calling thread, setting its ring up if needed. */
export function runtime(): RuntimeInfo {
  const s = backendState()
  if (s.backend === 'io_uring') {
    const info = ring().ringInfo()
    return { ...info, backend: 'io_uring', paths: fsPaths() }
  }
  const probe = nativeBinding()?.probe()
  return {
    kernel: probe?.kernel ?? require('node:os').release(),
    backend: 'fallback',
    fallbackReason: s.reason ?? 'unknown',
    setupFlags: [],
    sqEntries: 0,
    cqEntries: 0,
    ops: [],
    paths: fsPaths()
  }
}

/** Counters of the calling thread's ring (all zero on the fallback backend). */
export function stats(): RuntimeStats {
  if (backendState().backend !== 'io_uring') {
    return {
      opsSubmitted: 0,
      opsCompleted: 0,
      enterCalls: 0,
      batches: 0,
      inFlight: 0,
      recvBuffers: 0,
      recvBuffersMost: 0,
      recvBufferGrows: 0,
      recvBufferShrinks: 0,
      recvStarved: 0,
      httpZeroCopySends: 0,
      httpZeroCopyCopied: 0,
      readinessReads: 0,
      sockets: 0,
      listeners: 0
    }
  }
  return { ...ring().stats(), sockets: counters.sockets, listeners: counters.listeners }
}
