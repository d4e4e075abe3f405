/**
 * The callback API's whole-file calls: `fs.readFile`, `fs.writeFile`, `fs.appendFile` through
 * boros/fs's promise functions (see ring-callbacks.ts for which shapes take them; every other
 * one is node:fs's own).
 * Not part of the public API.
 * @module
 */
// biome-ignore-all lint/complexity/noArguments: Node's overloads depend on how many arguments were passed; delegation passes them on unchanged
import type * as NodeFsTypes from 'node:fs'
import { nodeFs } from '../node-fs.js'
import { appendFile as appendFileP, readFile as readFileP, writeFile as writeFileP } from './index.js'
import { type Callback, deliver, isPath, ringUp } from './callback-shared.js'

/** A readFile/writeFile options argument the ring serves (no signal, no flush, known encoding). */
function plainFileOptions(options: unknown, flag: string, flagOk: (f: unknown) => boolean): boolean {
  if (options == null) return true
  if (typeof options === 'string') return Buffer.isEncoding(options)
  if (typeof options !== 'object') return false
  const o = options as {
    encoding?: unknown
    flag?: unknown
    signal?: unknown
    flush?: unknown
    mode?: unknown
    buffer?: unknown
  }
  if (o.signal != null || (o.flush !== undefined && o.flush !== false)) return false
  // readFile's `buffer` (Node 24.22+, 26; a Buffer as options has one): node:fs checks and serves it.
  if (o.buffer !== undefined) return false
  if (o.encoding != null && !(typeof o.encoding === 'string' && Buffer.isEncoding(o.encoding))) return false
  if (o.mode != null && !(typeof o.mode === 'number' && o.mode >>> 0 === o.mode)) return false
  return o.flag === undefined || o.flag === flag || flagOk(o.flag)
}

/** `fs.readFile(path[, options], callback)`: boros/fs `readFile` (one trip for a small file). */
export function readFile(path: NodeFsTypes.PathOrFileDescriptor, options?: unknown, callback?: unknown): void {
  // Node: `callback ||= options`; options that are a function mean the defaults.
  const cb = callback || options
  const opts = typeof options === 'function' ? undefined : options
  if (
    ringUp() &&
    arguments.length <= 3 &&
    typeof cb === 'function' &&
    isPath(path) &&
    plainFileOptions(opts, 'r', () => false)
  ) {
    readFileP(path, opts as Parameters<typeof readFileP>[1]).then(
      (data) => deliver(cb as Callback, null, data),
      (e: unknown) => deliver(cb as Callback, e)
    )
    return
  }
  Reflect.apply(nodeFs.readFile, undefined, Array.prototype.slice.call(arguments))
}

const writeFlag = (f: unknown): boolean => typeof f === 'string' && ['w', 'wx', 'w+', 'a', 'ax', 'a+'].includes(f)

function writeCall(append: boolean, args: IArguments): void {
  const [path, data, options, callback] = args
  // Node: `callback ||= options` (writeFile(p, d, cb) and writeFile(p, d, fn, cb) both call
  // cb); options that are a function mean the defaults.
  const cb = callback || options
  const opts = typeof options === 'function' ? undefined : options
  if (
    ringUp() &&
    args.length <= 4 &&
    typeof cb === 'function' &&
    isPath(path) &&
    (typeof data === 'string' || ArrayBuffer.isView(data)) &&
    plainFileOptions(opts, append ? 'a' : 'w', writeFlag)
  ) {
    const fn = append ? appendFileP : writeFileP
    fn(path, data as string, opts as Parameters<typeof fn>[2]).then(
      () => deliver(cb as Callback, null),
      (e: unknown) => deliver(cb as Callback, e)
    )
    return
  }
  Reflect.apply(append ? nodeFs.appendFile : nodeFs.writeFile, undefined, Array.prototype.slice.call(args))
}

/** `fs.writeFile(file, data[, options], callback)`: boros/fs `writeFile`. */
export function writeFile(
  _file: NodeFsTypes.PathOrFileDescriptor,
  _data: unknown,
  _options?: unknown,
  _cb?: unknown
): void {
  writeCall(false, arguments)
}

/** `fs.appendFile(path, data[, options], callback)`: boros/fs `appendFile`. */
export function appendFile(
  _path: NodeFsTypes.PathOrFileDescriptor,
  _data: unknown,
  _options?: unknown,
  _cb?: unknown
): void {
  writeCall(true, arguments)
}
