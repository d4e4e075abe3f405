/**
 * Tasks: `spawn(fn)` runs an async function whose boros operations can be cancelled together,
 * and `TaskGroup` runs several, failing fast.
 * @module
 */
import { AbortError } from './errors.js'
import { taskStorage, type TaskScope } from './task-context.js'

/**
 * A running async function. Awaitable; `cancel()` aborts its `signal` and cancels, in the
 * kernel, every boros operation it is waiting on (they reject with `AbortError`).
 */
export class Task<T> implements PromiseLike<T> {
  readonly #controller = new AbortController()
  readonly #inflight = new Set<() => void>()
  readonly #promise: Promise<T>
  #done = false

  /** @internal */
  constructor(fn: (signal: AbortSignal) => T | PromiseLike<T>) {
    const scope: TaskScope = {
      signal: this.#controller.signal,
      track: (cancel) => this.#inflight.add(cancel),
      untrack: (cancel) => this.#inflight.delete(cancel)
    }
    this.#promise = taskStorage()
      .run(scope, async () => fn(this.#controller.signal))
      .finally(() => {
        this.#done = true
      })
  }

  /** The task's signal: aborted by `cancel()`. Pass it to non-boros APIs too. */
  get signal(): AbortSignal {
    return this.#controller.signal
  }

  /** Whether the task has finished. */
  get done(): boolean {
    return this.#done
  }

  /** Cancels the task: aborts its signal and cancels the operations it waits on. */
  cancel(reason: unknown = new AbortError('The task was cancelled')): void {
    if (this.#done || this.#controller.signal.aborted) return
    this.#controller.abort(reason)
    for (const cancel of [...this.#inflight]) cancel()
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

  get [Symbol.toStringTag](): string {
    return 'Task'
  }
}

/** Runs `fn` as a task. Operations it starts (directly or in awaited calls) belong to it. */
export function spawn<T>(fn: (signal: AbortSignal) => T | PromiseLike<T>): Task<T> {
  return new Task(fn)
}

/**
 * A set of tasks that succeed or fail together: `wait()` resolves with every result once all
 * have finished; the first failure cancels the others and `wait()` rethrows it.
 */
export class TaskGroup {
  readonly #tasks: Task<unknown>[] = []
  #failure: { error: unknown } | undefined

  /** Starts a task in the group. */
  spawn<T>(fn: (signal: AbortSignal) => T | PromiseLike<T>): Task<T> {
    const task = spawn(fn)
    this.#tasks.push(task)
    task.then(undefined, (error: unknown) => {
      if (this.#failure === undefined) {
        this.#failure = { error }
        this.cancel(error)
      }
    })
    return task
  }

  /** Cancels every task in the group. */
  cancel(reason?: unknown): void {
    for (const t of this.#tasks) t.cancel(reason)
  }

  /** Waits for all tasks (including ones spawned while waiting); rethrows the first failure. */
  async wait(): Promise<unknown[]> {
    let seen = 0
    while (seen < this.#tasks.length) {
      seen = this.#tasks.length
      await Promise.allSettled(this.#tasks)
    }
    if (this.#failure !== undefined) throw this.#failure.error
    return Promise.all(this.#tasks)
  }

  /** `await using group = new TaskGroup()` waits for the group at the end of the block. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.wait()
  }
}
