/**
 * `Future<T>`: the handle of one submitted io_uring operation.
 * @module
 */
import { PendingOp, type Start } from './submit.js'
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
  readonly #op: PendingOp<T>

  /** @internal */
  constructor(start: Start, map: (result: number) => T, options?: OpOptions) {
    this.#op = new PendingOp(start, map, options?.signal, currentTask())
  }

  /** Whether the operation has completed (successfully or not). */
  get settled(): boolean {
    return this.#op.settled
  }

  /**
   * Asks the kernel to cancel the operation. Returns false if it had already completed.
   * The future still settles exactly once, when the kernel posts the operation's completion.
   */
  cancel(reason?: unknown): boolean {
    return this.#op.cancel(reason)
  }

  then<R1 = T, R2 = never>(
    onfulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null
  ): Promise<R1 | R2> {
    return this.#op.promise.then(onfulfilled, onrejected)
  }

  catch<R = never>(onrejected?: ((reason: unknown) => R | PromiseLike<R>) | null): Promise<T | R> {
    return this.#op.promise.catch(onrejected)
  }

  finally(onfinally?: (() => void) | null): Promise<T> {
    return this.#op.promise.finally(onfinally)
  }

  /** The underlying promise. */
  toPromise(): Promise<T> {
    return this.#op.promise
  }

  get [Symbol.toStringTag](): string {
    return 'Future'
  }
}
