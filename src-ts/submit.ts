/**
 * The submission primitive over the binding's tokens: `submit` (the hot path: a token and a
 * promise) and `PendingOp` (an op that can be cancelled by its signal or its task). Every
 * façade op goes through one of them; `binding.ts` below owns the tokens and the batches.
 * Not part of the public API.
 * @module
 */
import { dropToken, NO_KEY, ring, takeToken, type NativeBinding } from './binding.js'
import { AbortError } from './errors.js'
import { currentTask, type TaskScope } from './task-context.js'

/** Queues one native operation: `start(binding, token)` calls the native function and returns its key. */
export type Start = (binding: NativeBinding, token: number) => number

export function abortError(signal: AbortSignal): AbortError {
  return new AbortError(undefined, { cause: signal.reason })
}

/**
 * One submitted operation: **the** submission primitive (`submit`, `Future`, `FileHandle` and
 * the path functions all go through it). It settles exactly once, when the kernel has posted
 * the op's completion, so the op's memory is never released early. `map` turns the raw result
 * (`>= 0`, or `-errno`) into the value to resolve with, or throws the error to reject with.
 * `cancel(reason)` (or `signal`, or the surrounding task's cancellation) asks the kernel to
 * cancel it; it then rejects with `AbortError` — unless the kernel finished it first: a read or
 * write that completed has moved bytes and positions, so its own result is kept. `done`, if
 * given, is called exactly once when the op is over (settled, or refused before it went out):
 * how a `FileHandle` counts the ops its `close()` waits for.
 */
export class PendingOp<T> {
  /** Settles with the op's result. */
  readonly promise: Promise<T>
  #key = NO_KEY
  #settled = false
  #cancelled = false
  #reason: unknown

  constructor(
    start: Start,
    map: (result: number) => T,
    signal?: AbortSignal | null,
    task?: TaskScope,
    done?: () => void,
    undo?: (result: number) => void
  ) {
    const binding = ring()
    this.promise = new Promise<T>((resolve, reject) => {
      if (signal?.aborted || task?.signal.aborted) {
        // A cancelled task starts nothing more: its later ops reject before they go out.
        this.#settled = true
        done?.()
        reject(abortError(signal?.aborted ? signal : task!.signal))
        return
      }
      const onAbort = (): void => {
        this.cancel(signal?.aborted ? signal.reason : task?.signal.reason)
      }
      const token = takeToken((result) => {
        this.#settled = true
        done?.()
        // A caller's signal is a caller's object: a listener call that throws (a Proxy, a
        // subclass) must neither escape the completion callback nor leave the promise pending.
        try {
          signal?.removeEventListener('abort', onAbort)
        } catch {}
        task?.untrack(onAbort)
        if (this.#cancelled && (result < 0 || undo !== undefined)) {
          // An op that made something (a descriptor) and finished before the cancel reached
          // it: the caller was told it is cancelled and will never see it, so it is undone
          // (closed) here rather than leaked.
          if (result >= 0) undo?.(result)
          reject(new AbortError(undefined, { cause: this.#reason }))
          return
        }
        try {
          resolve(map(result))
        } catch (e) {
          reject(e)
        }
      })
      try {
        this.#key = start(binding, token)
      } catch (e) {
        dropToken(token)
        this.#settled = true
        done?.()
        reject(e)
        return
      }
      try {
        signal?.addEventListener('abort', onAbort, { once: true })
      } catch {
        // A signal that cannot take a listener cannot cancel in the kernel: its `aborted` is
        // still read before the op and by the whole-file loops between ops, as Node does.
      }
      task?.track(onAbort)
    })
  }

  /** Whether the op has completed (or was refused before it went out). */
  get settled(): boolean {
    return this.#settled
  }

  /**
   * Asks the kernel to cancel the op. Returns false if it had already completed. The op still
   * settles exactly once, when the kernel posts its completion.
   */
  cancel(reason?: unknown): boolean {
    if (this.#settled || this.#key < 0) return false
    if (!this.#cancelled) {
      this.#cancelled = true
      this.#reason = reason
      ring().cancel(this.#key)
    }
    return true
  }
}

/**
 * Submits one operation and returns its promise (see {@link PendingOp}). With no signal and no
 * surrounding task there is nothing to cancel: the hot path takes a token and nothing else.
 */
export function submit<T>(
  start: Start,
  map: (result: number) => T,
  signal?: AbortSignal | null,
  done?: () => void,
  how?: SubmitHow
): Promise<T> {
  const task = how?.detached ? undefined : currentTask()
  if (signal == null && task === undefined) {
    const binding = ring()
    return new Promise<T>((resolve, reject) => {
      const token = takeToken((result) => {
        done?.()
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
        done?.()
        reject(e)
      }
    })
  }
  return new PendingOp(start, map, signal, task, done, how?.undo).promise
}

/** How `submit` treats an op beyond its signal. */
export interface SubmitHow {
  /**
   * Not part of the surrounding task: a cancelled task neither refuses nor cancels it (a
   * `close`, which must always run, or a descriptor would leak).
   */
  readonly detached?: boolean
  /**
   * Undoes a successful result of an op cancelled too late (closes the descriptor an `open`
   * made): the op then rejects with `AbortError` instead of handing it out.
   */
  readonly undo?: (result: number) => void
}

/** The task the running code belongs to, if it was cancelled: its AbortError (see `Task`). */
export function taskAborted(): AbortError | undefined {
  const task = currentTask()
  return task?.signal.aborted ? abortError(task.signal) : undefined
}
