/**
 * One `process.nextTick` per batch: `batched(run)` gives a function that queues an item; the
 * items queued during a tick are `run` in the next one, in order (node:http emits a response's
 * 'finish' and 'close' each from a tick of its own; here a turn's responses share two).
 * @module
 */

/** Queues `x` for `run` in the next tick (one tick for all queued until then). */
export function batched<T>(run: (x: T) => void): (x: T) => void {
  let list: T[] = []
  const flush = (): void => {
    const items = list
    list = []
    for (let i = 0; i < items.length; i++) {
      try {
        run(items[i]!)
      } catch (err) {
        // A listener threw (an uncaught exception, as in node): the rest still get theirs.
        const rest = items.slice(i + 1)
        if (rest.length > 0) {
          if (list.length === 0) process.nextTick(flush)
          list = rest.concat(list)
        }
        throw err
      }
    }
  }
  return (x: T): void => {
    if (list.push(x) === 1) process.nextTick(flush)
  }
}
