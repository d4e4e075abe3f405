/**
 * Which task (if any) the running code belongs to. Kept apart from `task.ts` so that the
 * operation path does not load AsyncLocalStorage until the first `spawn()`: programs that
 * never spawn a task pay nothing for it.
 * Not part of the public API.
 * @module
 */
import type { AsyncLocalStorage } from 'node:async_hooks'

/** What an operation needs from the task it runs in. */
export interface TaskScope {
  readonly signal: AbortSignal
  /** Registers an in-flight operation's cancel function. */
  track(cancel: () => void): void
  /** Forgets it once the operation settled. */
  untrack(cancel: () => void): void
}

let storage: AsyncLocalStorage<TaskScope> | undefined

export function taskStorage(): AsyncLocalStorage<TaskScope> {
  if (storage === undefined) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { AsyncLocalStorage: ALS } = require('node:async_hooks') as typeof import('node:async_hooks')
    storage = new ALS<TaskScope>()
  }
  return storage
}

export function currentTask(): TaskScope | undefined {
  return storage?.getStore()
}
