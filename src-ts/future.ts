/**
 * `Future<T>`: the handle of one submitted io_uring operation.
 * @module
 */
import { abortError, ring, takeToken, dropToken, type Start } from './binding.js'
import { currentTask } from './task-context.js'

/** Options every operation takes. */
export interface OpOptions {
  /** Cancels the operation in the kernel when aborted; it then rejects with `AbortError`. */
  readonly signal?: AbortSignal | null
}

/**
 * The handle of one submitted operation. Await it like a promise; `cancel()` asks the kernel
 * to cancel it, and it then rejects with an `AbortError` once the kernel has confirmed (if the
 * operation finished first, it settles with its own result instead).
 */
export class Future<T> implements PromiseLike<T> {
  readonly #promise: Promise<T>
  #key = -1
  #settled = false
  #cancelled = false
  #cancelReason: unknown

  /** @internal */
  constructor(start: Start, map: (result: number) => T, options?: OpOptions) {
    const binding = ring()
    const signal = options?.signal ?? undefined
    const task = currentTask()
    const onAbort = (): void => {
      this.cancel(signal?.reason ?? task?.signal.reason)
    }
    this.#promise = new Promise<T>((resolve, reject) => {
      if (signal?.aborted) {
        this.#settled = true
        reject(abortError(signal))
        return
      }
      const token = takeToken((result) => {
        this.#settled = true
        signal?.removeEventListener('abort', onAbort)
        task?.untrack(onAbort)
        if (this.#cancelled && result < 0) {
          reject(abortError({ reason: this.#cancelReason } as AbortSignal))
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
        reject(e)
        return
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      task?.track(onAbort)
    })
  }

  /** Whether the operation has completed (successfully or not). */
  get settled(): boolean {
    return this.#settled
  }

  /**
   * Asks the kernel to cancel the operation. Returns false if it had already completed.
   * The future still settles exactly once, when the kernel posts the operation's completion.
   */
  cancel(reason?: unknown): boolean {
    if (this.#settled || this.#key < 0) return false
    if (!this.#cancelled) {
      this.#cancelled = true
      this.#cancelReason = reason
      ring().cancel(this.#key)
    }
    return true
  }

  then<R1 = T, R2 = never>(
    onfulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null
  ): Promise<R1 | R2> {
    return this.#promise.then(onfulfilled, onrejected)
  }

  catch<R = never>(onrejected?: ((reason: unknown) => R | PromiseLike<R>) | null): Promise<T | R> {
    return this.#promise.catch(onrejected)
  }

  finally(onfinally?: (() => void) | null): Promise<T> {
    return this.#promise.finally(onfinally)
  }

  /** The underlying promise. */
  toPromise(): Promise<T> {
    return this.#promise
  }

  get [Symbol.toStringTag](): string {
    return 'Future'
  }
}
