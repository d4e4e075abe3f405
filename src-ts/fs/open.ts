/**
 * `open`: a `FileHandle` on a descriptor, or (`{ direct: true }`) on a slot of the ring's
 * registered file table. In a module of its own so that everything that opens files (the
 * index, streams, the path functions) imports it without importing each other.
 * @module
 */
import { nodeFsp as fsp } from '../node-fsp.js'
import { ring, usesRing } from '../binding.js'
import { submit } from '../submit.js'
import { FILE_KIND_FD, FILE_KIND_FIXED } from '../wire.js'
import { invalidArgType, systemError } from '../errors.js'
import { fdRef, fixedRef } from '../file-ref.js'
import { toPath, type PathLike } from '../validate.js'
import { FileHandle } from './file-handle.js'
import { parseFlags, parseMode } from './flags.js'
import { ENFILE } from '../errno.js'

/** Options of `open(path, options)`. */
export interface OpenOptions {
  /** Node flag string or number (default `'r'`). */
  readonly flags?: string | number
  /** Mode of a created file (default `0o666`). */
  readonly mode?: string | number
  /**
   * Open a direct descriptor: a slot of this thread's registered file table, used with
   * `IOSQE_FIXED_FILE` by every op of the handle. Its `fd` is -1 (no descriptor in the
   * process's table). When the table is full, a plain descriptor is opened instead.
   */
  readonly direct?: boolean
}

/** Node's FileHandle class, once the fallback has opened a file (its handles are node:fs's). */
type AnyClass = abstract new (...args: never[]) => object
let nodeHandleClass: AnyClass | undefined

/** Whether `x` is a handle `open` gave on the fallback backend (a node:fs/promises FileHandle). */
export function isFallbackHandle(x: unknown): boolean {
  return nodeHandleClass !== undefined && x instanceof nodeHandleClass
}

/**
 * Opens a file. `flags` is a Node flag string (`'r'`, `'w+'`, `'ax'`...) or a number;
 * `mode` applies when the file is created (default `0o666`). The second argument may also
 * be an {@link OpenOptions} object with a `direct` key (`{ flags, mode, direct }`).
 */
export async function open(
  path: PathLike,
  flags?: string | number | OpenOptions,
  mode?: string | number
): Promise<FileHandle> {
  let direct = false
  if (flags !== null && typeof flags === 'object' && 'direct' in flags) {
    if (typeof flags.direct !== 'boolean' && flags.direct !== undefined) {
      throw invalidArgType('options.direct', 'of type boolean', flags.direct)
    }
    direct = flags.direct === true
    mode = flags.mode
    flags = flags.flags
  }
  const p = toPath(path)
  const f = parseFlags(flags as string | number | undefined) // any other object is rejected there, as node does
  const m = parseMode(mode, 0o666)
  if (!usesRing()) {
    const handle = await fsp.open(p, f, m)
    nodeHandleClass ??= handle.constructor as AnyClass
    return handle as unknown as FileHandle
  }
  if (direct) {
    // The runtime takes a free slot and opens into it. -ENFILE: the table is full (or the
    // kernel has none): a descriptor instead.
    const slot = await submit(
      (b, t) => b.openFixed(p, f, m, t),
      (result) => {
        if (result < 0 && result !== ENFILE) throw systemError(result, 'open', p)
        return result
      },
      undefined,
      undefined,
      { undo: (slot) => closeLate(FILE_KIND_FIXED, slot) }
    )
    if (slot >= 0) return new FileHandle(fixedRef(slot))
  }
  return openDescriptor(p, f, m)
}

/** Opens `path` (already validated) on a descriptor through io_uring `openat`. */
export function openDescriptor(p: string, flags: number, mode: number): Promise<FileHandle> {
  return submit(
    (b, t) => b.open(p, flags, mode, t),
    (result) => {
      if (result < 0) throw systemError(result, 'open', p)
      // The handle's descriptor is this thread's: closed at the env's teardown (worker exit)
      // if the handle was not closed by then, as Node closes a worker's descriptors.
      ring().ownFd(result)
      return new FileHandle(fdRef(result))
    },
    undefined,
    undefined,
    { undo: (fd) => closeLate(FILE_KIND_FD, fd) }
  )
}

/** Closes what an open cancelled too late made (its task was cancelled): nobody will see it. */
function closeLate(kind: number, n: number): void {
  submit(
    (b, t) => b.close(kind, n, t),
    () => undefined,
    undefined,
    undefined,
    { detached: true }
  ).catch(() => undefined)
}
