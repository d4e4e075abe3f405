/**
 * Node core accepts boros FileHandles where it accepts its own (drop-in mode only).
 *
 * Node's entry points that take a `FileHandle` — `new fs.ReadStream(null, { fd: handle })`,
 * `fs.createReadStream`/`createWriteStream` with `{ fd: handle }` (lib/internal/fs/streams.js
 * `importFd`), http2's `respondWithFD(handle)`, `fs/promises`' `readFile(handle)`... — check
 * `handle instanceof FileHandle`, Node's internal class, which a boros handle is not, so they
 * throw `ERR_INVALID_ARG_TYPE`. The streams then use only the handle's public methods (`read`,
 * `write`, `writev`, `sync`, `close`, the `'close'` event) plus two of Node's internal symbols,
 * `kRef`/`kUnref` (a count that makes Node's own `close()` wait for the stream's reads); http2
 * takes the handle's `fd`.
 *
 * So `boros/register` (and only it: this changes a Node class for the whole process) gives
 * Node's `FileHandle` a `Symbol.hasInstance` that also answers true for a boros handle, and
 * gives boros' `FileHandle` those two symbol methods (no-ops: boros' `close()` already waits
 * for every operation in flight on the handle). Node's class is not exported: it is taken from
 * a handle of `/dev/null` opened once with Node's own `fs/promises`, so this completes one
 * turn of the loop after boros loads — before any boros handle can exist, since opening one
 * takes at least as long.
 * Not part of the public API.
 * @module
 */
import { nodeFsp } from '../node-fsp.js'

let adopted: Promise<boolean> | undefined

/**
 * Makes `value instanceof NodeFileHandle` true for instances of `Boros` (once per process).
 * Resolves true when done, false where Node's class could not be had (it then stays as it was).
 */
export function adoptBorosHandles(Boros: abstract new (...args: never[]) => object): Promise<boolean> {
  adopted ??= nodeFsp.open('/dev/null').then(
    async (probe) => {
      const NodeFileHandle = probe.constructor as { prototype: object }
      await probe.close()
      if ((NodeFileHandle as unknown) === Boros) return false // the fallback backend: boros' handles are Node's
      const own = Function.prototype[Symbol.hasInstance]
      Object.defineProperty(NodeFileHandle, Symbol.hasInstance, {
        configurable: true,
        value(this: unknown, value: unknown): boolean {
          return (value instanceof Boros && this === NodeFileHandle) || own.call(this, value)
        }
      })
      const proto = Boros.prototype as Record<symbol, unknown>
      for (const sym of Object.getOwnPropertySymbols(NodeFileHandle.prototype)) {
        if ((sym.description === 'kRef' || sym.description === 'kUnref') && !(sym in proto)) {
          Object.defineProperty(proto, sym, { configurable: true, writable: true, value: function noop(): void {} })
        }
      }
      return true
    },
    () => false
  )
  return adopted
}
