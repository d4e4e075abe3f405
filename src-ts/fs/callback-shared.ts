/**
 * What the callback API's functions (ring-callbacks.ts and its callback-*.ts parts) share: the
 * argument checks that decide whether a call takes the ring, each descriptor's FileRef and
 * read route, and the ways a result reaches a callback (never synchronously).
 * Not part of the public API.
 * @module
 */
// biome-ignore-all lint/suspicious/noExplicitAny: callbacks and option bags of any shape are checked at run time
import { dropToken, ring, takeToken, usesRing } from '../binding.js'
import type { NativeBinding } from '../binding.js'
import { systemError } from '../errors.js'
import { fdRef, type Fd } from '../file-ref.js'
import { FILE_KIND_FD } from '../wire.js'
import { learnRoute, type Route } from './descriptor-route.js'
import { type StartWriteback, WriteBehind } from './write-behind.js'
import { isMainThread } from 'node:worker_threads'

/**
 * In a worker, Node keeps the set of raw descriptors its `fs.open` opened ("unmanaged fds",
 * Worker option `trackUnmanagedFds`, on by default) and closes what is left of them when the
 * worker ends; its `fs.close` of a number it did not open warns ("closed but not opened in
 * unmanaged mode"), and one it opened that something else closed is closed again at the end —
 * by then maybe another thread's file under a reused number. So in a worker the callback API's
 * `open` and `close` are node:fs's own (the reads and writes on the descriptor stay on the ring):
 * Node's set stays exact, whichever API opened or closes a descriptor.
 */
export const NODE_TRACKS_FDS = !isMainThread

export type Callback = (...args: any[]) => void
export type Native = NativeBinding

export const INT32_MAX = 2 ** 31 - 1

/** `null`: the ring cannot be used on this thread (every call is node:fs's). */
let onRing: boolean | undefined
export function ringUp(): boolean {
  onRing ??= usesRing()
  return onRing
}

/** A valid descriptor as Node's `getValidatedFd` accepts it (an int32 >= 0). */
export function isFd(fd: unknown): fd is number {
  return typeof fd === 'number' && (fd | 0) === fd && fd >= 0
}

/** A path Node would take as is: a string without NUL bytes. */
export function isPath(p: unknown): p is string {
  return typeof p === 'string' && p.length > 0 && !p.includes('\u0000')
}

/** A position Node takes for a read or write: `null`/`undefined`/-1 (current position) or an integer. -2: not one. */
export function positionOf(position: unknown, length: number): number {
  if (position == null) return -1
  if (typeof position !== 'number' || !Number.isSafeInteger(position) || position < -1) return -2
  return position + length > Number.MAX_SAFE_INTEGER ? -2 : position
}

// Per descriptor: its FileRef (one object per number, not per op) and its read route.
const refs: Array<Fd | undefined> = []
const routes: Array<Route | undefined> = []
const behinds: Array<WriteBehind | undefined> = []

export function refOf(fd: number): Fd {
  let r = refs[fd]
  if (r === undefined) {
    r = fdRef(fd)
    refs[fd] = r
  }
  return r
}

/**
 * The route of `fd` (learned once, `fstatfs`; see descriptor-route.ts), or undefined when the descriptor
 * is not open (the ring then answers EBADF as the system call would). Forgotten when this
 * module closes or opens that number; a descriptor closed and reopened behind this module's
 * back (by `node:fs`) keeps the route its number had: only the speed can differ then, except
 * that an `O_DIRECT` descriptor must be learned as one (its reads are `node:fs`'s).
 */
export function routeOf(fd: number): Route | undefined {
  let r = routes[fd]
  if (r === undefined) {
    try {
      r = learnRoute(fd)
    } catch {
      return undefined
    }
    routes[fd] = r
  }
  return r
}

export function forget(fd: number): void {
  routes[fd] = undefined
  behinds[fd] = undefined
}

/** `fd` was synced (`fs.fsync`/`fs.fdatasync`): its file is written behind from now on (write-behind.ts). */
export function syncedFd(fd: number): void {
  const behind = behinds[fd] ?? new WriteBehind()
  behinds[fd] = behind
  behind.expectSync(routeOf(fd))
}

/**
 * Counts a write about to be submitted on `fd` for its write-behind (see write-behind.ts). A
 * write-back start is not waited for; if the number is closed and reused before it runs, it
 * starts the write-back of another file, which only moves that file's disk writes earlier.
 */
export function wroteTo(fd: number, route: Route | undefined, len: number, pos: number): void {
  if (route === undefined) return
  behinds[fd] ??= new WriteBehind()
  const submit: StartWriteback = (start, done) => {
    const token = takeToken(done)
    try {
      start(ring(), FILE_KIND_FD, fd, token)
    } catch {
      dropToken(token)
      done()
    }
  }
  submit.idleFd = fd
  behinds[fd].wrote(route, len, pos, submit)
}

/** Calls `cb` in a later turn, as Node's callbacks for results known at once. */
export function later(cb: Callback, ...args: unknown[]): void {
  process.nextTick(() => cb(...args))
}

/**
 * Queues one native op with a token whose waiter gets the raw result. A native call that
 * throws (it should not, after the checks here) reports its error through the callback.
 */
export function native(start: (b: Native, token: number) => number, waiter: (r: number) => void, cb: Callback): void {
  const token = takeToken(waiter)
  try {
    start(ring(), token)
  } catch (e) {
    dropToken(token)
    later(cb, e)
  }
}

/** A waiter for ops whose callback gets `(err)` or `(null)`. */
export function doneWaiter(cb: Callback, syscall: string, path?: string, dest?: string): (r: number) => void {
  return (r) => (r < 0 ? cb(systemError(r, syscall, path, dest)) : cb(null))
}

/** The `[position, ]callback` tail of `readv`/`writev`: the callback is `undefined` when the shape is not Node's plain one. */
export function vectorCall(rest: unknown[]): { cb: Callback | undefined; position: unknown } {
  const cb = rest[rest.length - 1]
  const ok = rest.length >= 1 && rest.length <= 2 && typeof cb === 'function'
  return { cb: ok ? (cb as Callback) : undefined, position: rest.length === 2 ? rest[0] : null }
}

/** Whether a `readv`/`writev` of `buffers` on `fd` may go to the ring (the rest is Node's own). */
export function vectorOnRing(fd: unknown, buffers: unknown): buffers is readonly NodeJS.ArrayBufferView[] {
  return ringUp() && isFd(fd) && Array.isArray(buffers) && buffers.length > 0
}

/**
 * Calls a callback from a promise reaction, with Node's argument count (a trailing
 * `undefined` is not passed); an exception it throws is an uncaught exception, as it would be
 * from Node's callback, not a rejected promise.
 */
export function deliver(cb: Callback, err: unknown, value?: unknown): void {
  try {
    if (err != null || value === undefined) cb(err ?? null)
    else cb(null, value)
  } catch (e) {
    queueMicrotask(() => {
      throw e
    })
  }
}
