/**
 * The bridge to the native ring of this thread: loading the addon, choosing the backend,
 * the table of pending operations, and settling them in batches.
 *
 * Path of one operation: a façade call takes a token, stores its waiter in `waiters[token]`,
 * and calls the native function, which queues one SQE (no syscall). Just before libuv
 * blocks, the native side submits the whole batch in one `io_uring_enter`. When the ring's
 * eventfd fires, it reaps every CQE and calls `onComplete(n)` once, with `n` (token, result)
 * pairs in `results`; each waiter is called with its result (`-errno` on failure).
 * Not part of the public API.
 * @module
 */
import { AbortError, codes, codedError } from './errors.js'
import { currentTask } from './task-context.js'
import type * as Native from '../index.js'

export type NativeBinding = typeof Native

/** Which backend serves this thread. */
export type Backend = 'io_uring' | 'fallback'

let native: NativeBinding | undefined
let loadError: Error | undefined
try {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  native = require('../index.js') as NativeBinding
} catch (e) {
  loadError = e as Error
}

/** Up to this many completions are handed over per call; more take several calls. */
const RESULT_PAIRS = 4096
const results = new Int32Array(RESULT_PAIRS * 2)
const waiters: Array<((result: number) => void) | undefined> = []
const freeTokens: number[] = []
let nextToken = 0

function onComplete(n: number): void {
  for (let i = 0; i < n; i++) {
    const token = results[2 * i]!
    const result = results[2 * i + 1]!
    const waiter = waiters[token]
    waiters[token] = undefined
    freeTokens.push(token)
    if (waiter !== undefined) {
      try {
        waiter(result)
      } catch (err) {
        // A waiter must never stop the others from settling.
        queueMicrotask(() => {
          throw err
        })
      }
    }
  }
}

interface State {
  readonly backend: Backend
  readonly reason?: string
  readonly error?: Error
}
let state: State | undefined

/** Sets this thread's ring up on first use, or decides on the fallback (and why). */
export function backendState(): State {
  if (state !== undefined) return state
  if (process.env.BOROS_BACKEND === 'fallback') {
    state = { backend: 'fallback', reason: 'forced by BOROS_BACKEND=fallback' }
  } else if (native === undefined) {
    const reason = `the boros native addon could not be loaded for ${process.platform}-${process.arch}: ${loadError?.message.split('\n')[0]}`
    state = { backend: 'fallback', reason, error: codedError(Error, codes.NO_BINARY, reason, loadError) }
  } else {
    try {
      native.init(onComplete, results)
      state = { backend: 'io_uring' }
    } catch (e) {
      const err = e as Error & { code?: string }
      process.emitWarning(`boros: io_uring is not available, using node:fs instead (${err.message})`, {
        type: 'BorosWarning',
        code: 'BOROS_FALLBACK'
      })
      state = {
        backend: 'fallback',
        reason: err.message,
        error: codedError(Error, err.code ?? codes.IO_URING_UNAVAILABLE, err.message, err)
      }
    }
  }
  return state
}

/** The native binding with this thread's ring set up; throws when io_uring is not usable. */
export function ring(): NativeBinding {
  const s = backendState()
  if (s.backend === 'io_uring') return native!
  throw s.error ?? codedError(Error, codes.IO_URING_UNAVAILABLE, `io_uring is not in use: ${s.reason}`)
}

/** Whether this thread uses io_uring (sets the ring up on first call). */
export function usesRing(): boolean {
  return backendState().backend === 'io_uring'
}

/** The native binding, if it loaded (for probes that need no ring). */
export function nativeBinding(): NativeBinding | undefined {
  return native
}

/** Takes a token for one operation. */
export function takeToken(waiter: (result: number) => void): number {
  const token = freeTokens.length > 0 ? freeTokens.pop()! : nextToken++
  waiters[token] = waiter
  return token
}

/** Gives a token back when its native call threw (nothing was queued). */
export function dropToken(token: number): void {
  waiters[token] = undefined
  freeTokens.push(token)
}

/** Queues one native operation: `start(token)` calls the native function and returns its key. */
export type Start = (binding: NativeBinding, token: number) => number

export function abortError(signal: AbortSignal): AbortError {
  return new AbortError(undefined, { cause: signal.reason })
}

/**
 * Submits one operation. `map` turns its raw result (`>= 0`, or `-errno`) into the value to
 * resolve with, or throws the error to reject with. Rejects with `AbortError` when `signal` (or
 * the surrounding task) cancels it: the kernel is asked to cancel, and the promise settles only
 * once the kernel has posted the completion, so the op's memory is never released early.
 */
export function submit<T>(start: Start, map: (result: number) => T, signal?: AbortSignal | null): Promise<T> {
  const binding = ring()
  const task = currentTask()
  if (signal == null && task === undefined) {
    // The hot path: no cancellation to wire up.
    return new Promise<T>((resolve, reject) => {
      const token = takeToken((result) => {
        try {
          resolve(map(result))
        } catch (e) {
          reject(e)
        }
      })
      try {
        start(binding, token)
      } catch (e) {
        dropToken(token)
        throw e
      }
    })
  }
  if (signal?.aborted) return Promise.reject(abortError(signal))
  return new Promise<T>((resolve, reject) => {
    let key = -1
    let cancelledBy: AbortSignal | undefined
    const onAbort = (): void => {
      cancelledBy = signal?.aborted ? signal : task?.signal
      if (key >= 0) binding.cancel(key)
    }
    const token = takeToken((result) => {
      signal?.removeEventListener('abort', onAbort)
      task?.untrack(onAbort)
      // Only an op the kernel did not finish counts as aborted: a read or write that completed
      // before the cancel took effect has moved bytes and positions, so its result is kept.
      if (cancelledBy !== undefined && result < 0) {
        reject(abortError(cancelledBy))
        return
      }
      try {
        resolve(map(result))
      } catch (e) {
        reject(e)
      }
    })
    try {
      key = start(binding, token)
    } catch (e) {
      dropToken(token)
      throw e
    }
    signal?.addEventListener('abort', onAbort, { once: true })
    task?.track(onAbort)
  })
}
