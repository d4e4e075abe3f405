/**
 * `boros/register`: the one-flag drop-in mode. `node --import boros/register app.js` (or
 * `--require boros/register`, or either in `NODE_OPTIONS`) makes the whole application and its
 * dependencies get boros where they use `node:fs`:
 *
 * - **`node:fs/promises`** is boros/fs, however it is asked for: `import` (named, default,
 *   namespace, dynamic), `require('fs/promises')`, `require('fs').promises`,
 *   `process.getBuiltinModule('fs/promises')`. The functions on Node's own `fs/promises` object
 *   are replaced and `module.syncBuiltinESMExports()` updates the ES module bindings. That
 *   happens when something first asks for the module (a `module.registerHooks` resolve hook,
 *   the `fs.promises` getter, `process.getBuiltinModule`), because loading Node's
 *   `fs/promises` costs 5-30 ms that a process which never uses it should not pay; on Node
 *   releases without `module.registerHooks` (before 22.15), at once.
 * - **The `fs` callback API** that boros/fs/callback serves on the ring (`fs.read`, `fs.open`,
 *   `fs.stat`...; `ringFunctions` of `boros/fs/callback`), on the `fs` module object and its ES
 *   module bindings — so callback-API libraries (graceful-fs, fs-extra, write-file-atomic...)
 *   and Node's own `fs.createReadStream`/`createWriteStream` go through the ring too.
 *   `BOROS_REGISTER_FS_CALLBACKS=0` leaves the callback API alone (opt-out).
 *
 * - **`node:net`**, with `BOROS_REGISTER_NET=1` (opt-in): the application's `net` is boros/net,
 *   and node:http's client agents connect with it (register-net.ts).
 *
 * **Lazy**: installing loads nothing of boros but this file and two tiny ones, bundled into one
 * file per entry (`boros/register` is dist/register.mjs or dist/register.cjs, written by
 * scripts/bundle-register.mjs: `--import` then enters no CommonJS loader); each replaced
 * function is a stand-in that, on its first call, loads boros/fs (or boros/fs/callback: the
 * addon, the ring...) and then puts the real functions in place. A process that never touches
 * a file through these APIs pays about 1 ms of CPU for boros' own code on Node 20, the rest of
 * the flag's cost being Node's for any `--import` of a package (`npm run bench -- --only
 * startup`; docs/files-internals.md, "Start-up, round 5").
 *
 * Node's own: the sync API, the rest of `fs`, and — on Node releases whose ES module loader
 * reads module files through `fs/promises`' `readFile` with a `URL` (Node 20) — `readFile` called
 * with a `URL` object (see node-facts.ts). boros' own files always get Node's functions
 * (node-fs.ts, node-fsp.ts keep copies taken before the swap).
 * @module
 */
import fs = require('node:fs')
import Module = require('node:module')
import { join } from 'node:path'
import { ESM_LOADER_READS_WITH_FSP } from './node-facts.js'
import { RING_FUNCTIONS } from './fs/ring-names.js'
import type { NetRegisterState } from './register-net.js'

const STATE = Symbol.for('boros.register')
/** The same symbol as node-fs.ts' FS_ORIGINALS (not imported: that module copies `fs`, which loads fs/promises). */
const FS_ORIGINALS = Symbol.for('boros.register.fsOriginals')
/** The same symbol as node-fsp.ts' FSP_ORIGINALS. */
const FSP_ORIGINALS = Symbol.for('boros.register.fspOriginals')

/** What `boros/register` did in this thread (see {@link registerState}). */
export interface RegisterState {
  /** Whether the swap is installed in this thread. */
  readonly active: boolean
  /**
   * How ES module imports get boros: `'syncBuiltinESMExports'` (Node's own module objects are
   * changed and their ES module bindings synced), or `'none'` (not active).
   */
  readonly esm: 'syncBuiltinESMExports' | 'none'
  /**
   * Whether `node:fs/promises` is swapped yet: it is on the first request for it (or at once
   * before Node 22.15); `fromBoros`/`fromNode` are empty until then.
   */
  readonly promisesSwapped: boolean
  /** The names of `node:fs/promises` served by boros/fs. */
  readonly fromBoros: readonly string[]
  /** The names of `node:fs/promises` left to Node (not functions: `constants`). */
  readonly fromNode: readonly string[]
  /** The `fs` callback functions served by boros/fs/callback (empty with `BOROS_REGISTER_FS_CALLBACKS=0`). */
  readonly callbacks: readonly string[]
  /** Whether boros has been loaded yet (the first call of a swapped function loads it). */
  readonly loaded: boolean
  /** The `node:net` swap (`BOROS_REGISTER_NET=1`; see register-net.ts). */
  readonly net: NetRegisterState
}

type Fn = (...args: unknown[]) => unknown
type Table = Record<string, unknown>

/** What serves each swapped name once boros is loaded (what a stand-in calls). */
interface Real {
  promises: Record<string, Fn>
  callbacks: Record<string, Fn>
  boros?: Table
  nodeFsp?: Table
  handlesReady?: Promise<boolean>
}

/**
 * The swap's whole state, on `globalThis` (not in module variables): the flag's entries are
 * bundles of this file (dist/register.mjs, dist/register.cjs; scripts/bundle-register.mjs), so
 * that `--import boros/register` loads one file, and `dist/register.js` itself may be loaded
 * besides them (by `boros doctor`, or an application asking for `registerState`): every copy
 * works on this one record.
 */
interface Installed {
  promises: Table | undefined
  fromBoros: string[]
  fromNode: string[]
  callbacks: string[]
  loaded: boolean
  real: Real
  /** The functions boros/register put on Node's objects (stand-ins, then the real ones). */
  ours: WeakSet<Fn>
  /** Whether swapPromises() is requiring Node's fs/promises. */
  swapping: boolean
  /** Whether load() is requiring boros (a swap meanwhile installs stand-ins; load() replaces them). */
  loading: boolean
}

const FS_INDEX = join(__dirname, 'fs', 'index.js')
const SPECIFIERS = new Set(['fs/promises', 'node:fs/promises'])

function installed(): Installed | undefined {
  return (globalThis as Record<symbol, Installed | undefined>)[STATE]
}

/**
 * Whether the callback API is swapped: the default. `BOROS_REGISTER_FS_CALLBACKS=0` (or
 * `false`, `off`) opts out; `1`, the opt-in of earlier releases, is the default now.
 */
function callbacksWanted(): boolean {
  const v = process.env.BOROS_REGISTER_FS_CALLBACKS
  return !(v === '0' || v === 'false' || v === 'off')
}

/** boros/fs, if something loaded it already (no loading here). */
export function loadedBorosFs(): typeof import('./fs/index.js') | undefined {
  const m = require.cache[FS_INDEX]
  return m?.loaded ? (m.exports as typeof import('./fs/index.js')) : undefined
}

/**
 * A stand-in for `original` (name, length and own symbol properties such as
 * `util.promisify.custom` copied) that calls `resolve()`'s function, resolved on the first call.
 */
function standIn(name: string, original: Fn, resolve: () => Fn): Fn {
  let impl: Fn | undefined
  const fn = {
    [name](this: unknown): unknown {
      impl ??= resolve()
      // biome-ignore lint/complexity/noArguments: Node's overloads depend on how many arguments were passed
      return Reflect.apply(impl, this, arguments)
    }
  }[name]!
  for (const sym of Object.getOwnPropertySymbols(original)) {
    Object.defineProperty(fn, sym, Object.getOwnPropertyDescriptor(original, sym)!)
  }
  Object.defineProperty(fn, 'length', { value: original.length })
  return fn
}

/**
 * Loads boros/fs (and boros/fs/callback when the callback API is swapped) and puts the real
 * functions on Node's objects in place of the stand-ins; later calls of a stand-in someone kept
 * go straight to its function.
 */
function load(): void {
  const rec = installed()!
  if (rec.loaded || rec.loading) return
  rec.loading = true
  const real = rec.real
  const originals = (globalThis as Record<symbol, Table>)[FS_ORIGINALS]!
  let boros: Table
  let nodeFsp: Table
  let cb: Table | undefined
  try {
    boros = require('./fs/index.js') as Table
    nodeFsp = (require('./node-fsp.js') as { nodeFsp: Table }).nodeFsp
    if (rec.callbacks.length > 0) cb = require('./fs/callback.js') as Table
  } catch (e) {
    // Cannot happen short of a broken install (boros/fs falls back to node:fs itself when the
    // addon does not load): give every name back to Node rather than leave stand-ins that
    // would call themselves.
    if (rec.promises !== undefined) {
      const copy = (require('./node-fsp.js') as { nodeFsp: Table }).nodeFsp
      for (const name of rec.fromBoros) real.promises[name] = copy[name] as Fn
      for (const name of rec.fromBoros) put(rec.promises, name, copy[name] as Fn)
    }
    for (const name of rec.callbacks) real.callbacks[name] = originals[name] as Fn
    for (const name of rec.callbacks) put(fs as unknown as Table, name, originals[name] as Fn)
    Module.syncBuiltinESMExports()
    throw e
  } finally {
    rec.loading = false
  }
  // Loading boros may itself have swapped fs/promises (it requires it): done after, as one step.
  rec.loaded = true
  // Node core takes boros FileHandles where it takes its own (fs/node-handles.ts): that takes one
  // trip through Node's threadpool, which fs/promises' open waits for (servedPromise).
  if (typeof boros.FileHandle === 'function') {
    real.handlesReady = (require('./fs/node-handles.js') as typeof import('./fs/node-handles.js')).adoptBorosHandles(
      boros.FileHandle as never
    )
  }
  real.boros = boros
  real.nodeFsp = nodeFsp
  if (rec.promises !== undefined) {
    for (const name of rec.fromBoros) {
      real.promises[name] = servedPromise(name, boros, nodeFsp)
      put(rec.promises, name, real.promises[name]!)
    }
  }
  if (cb !== undefined) {
    for (const name of rec.callbacks) {
      real.callbacks[name] = cb[name] as Fn
      put(fs as unknown as Table, name, cb[name] as Fn)
    }
  }
  Module.syncBuiltinESMExports()
}

/**
 * Puts `fn` at `obj[name]` unless someone replaced ours meanwhile: graceful-fs, for one,
 * wraps `fs.close` on Node's own module object (to retry queued opens after any close), and its
 * wrapper must stay.
 */
function put(obj: Table, name: string, fn: Fn, first = false): void {
  const { ours } = installed()!
  const now = obj[name]
  if (!first && typeof now === 'function' && !ours.has(now as Fn)) return
  ours.add(fn)
  obj[name] = fn
}

/** The function that serves `name` of node:fs/promises once boros/fs is loaded. */
function servedPromise(name: string, boros: Table, nodeFsp: Table): Fn {
  const fn = (boros[name] ?? nodeFsp[name]) as Fn
  const { real } = installed()!
  const ready = real.handlesReady
  if (name === 'open' && ready !== undefined) {
    // Until Node's FileHandle class takes boros handles, a handle is given out only once it does;
    // then boros' open itself is put in place.
    let done = false
    void ready.then(() => {
      done = true
      const rec = installed()!
      if (rec.promises !== undefined) put(rec.promises, 'open', fn)
      real.promises.open = fn
      Module.syncBuiltinESMExports()
    })
    return {
      open(this: unknown): unknown {
        // biome-ignore lint/complexity/noArguments: passed on unchanged
        const opened = Reflect.apply(fn, this, arguments) as Promise<unknown>
        return done ? opened : Promise.all([opened, ready]).then(([fh]) => fh)
      }
    }.open
  }
  return servedReadFile(name, fn, nodeFsp)
}

/** `readFile` as served on Node releases whose module loader reads with it (see ESM_LOADER_READS_WITH_FSP). */
function servedReadFile(name: string, real: Fn, nodeFsp: Table): Fn {
  if (name === 'readFile' && ESM_LOADER_READS_WITH_FSP) {
    // Node 20's ES module loader reads every module file with fs/promises' readFile(URL): those
    // stay Node's (so loading modules neither loads boros nor depends on it).
    const node = nodeFsp.readFile as Fn
    return {
      readFile(this: unknown, path: unknown, ...rest: unknown[]): unknown {
        return Reflect.apply(path instanceof URL ? node : real, this, [path, ...rest])
      }
    }.readFile
  }
  return real
}

/**
 * Swaps the functions of Node's own `fs/promises` object for stand-ins of boros/fs' (once).
 * Loads Node's fs/promises (and node-fsp.ts' copy of it, taken first), not boros.
 */
function swapPromises(): Table {
  const rec = installed()!
  if (rec.promises !== undefined) return rec.promises
  // The requires below pass through the resolve hook, which calls this again: nothing to do then.
  if (rec.swapping) return {}
  rec.swapping = true
  let nodeFsp: Table
  let target: Table
  try {
    target = require('node:fs/promises') as Table
  } finally {
    rec.swapping = false
  }
  // The copy boros keeps of Node's own functions (node-fsp.ts), taken before they are replaced.
  nodeFsp = { ...target }
  Object.defineProperty(globalThis, FSP_ORIGINALS, { value: nodeFsp, enumerable: false, configurable: true })
  rec.promises = target
  for (const name of Object.keys(nodeFsp)) {
    if (name === 'default') continue
    const original = nodeFsp[name]
    if (typeof original !== 'function') {
      rec.fromNode.push(name)
      continue
    }
    rec.fromBoros.push(name)
    const stand = standIn(name, original as Fn, () => {
      load()
      return rec.real.promises[name]!
    })
    if (name === 'readFile' && ESM_LOADER_READS_WITH_FSP) {
      // Module loading (a URL) must not load boros: see servedPromise.
      put(
        target,
        name,
        function readFile(this: unknown, path: unknown, ...rest: unknown[]): unknown {
          return Reflect.apply(path instanceof URL ? original : stand, this, [path, ...rest])
        },
        true
      )
    } else put(target, name, stand, true)
  }
  if (rec.loaded) {
    for (const name of rec.fromBoros) {
      rec.real.promises[name] = servedPromise(name, rec.real.boros!, nodeFsp)
      put(target, name, rec.real.promises[name]!)
    }
  }
  Module.syncBuiltinESMExports()
  return target
}

/** The `node:fs/promises` object as served (Node's own object, its functions boros/fs'). */
export function facade(): Table {
  install()
  return swapPromises()
}

/** What the swap does in this thread; `active: false` when `boros/register` was not loaded. */
export function registerState(): RegisterState {
  const rec = installed()
  if (rec === undefined) {
    return {
      active: false,
      esm: 'none',
      promisesSwapped: false,
      fromBoros: [],
      fromNode: [],
      callbacks: [],
      loaded: false,
      net: netState()
    }
  }
  return {
    active: true,
    esm: 'syncBuiltinESMExports',
    promisesSwapped: rec.promises !== undefined,
    fromBoros: [...rec.fromBoros],
    fromNode: [...rec.fromNode],
    callbacks: [...rec.callbacks],
    loaded: rec.loaded,
    net: netState()
  }
}

/** Installs the swap in this thread (idempotent). `boros/register` calls it. */
export function install(): void {
  if (installed() !== undefined) return
  const rec: Installed = {
    promises: undefined,
    fromBoros: [],
    fromNode: [],
    callbacks: [],
    loaded: false,
    real: { promises: {}, callbacks: {} },
    ours: new WeakSet(),
    swapping: false,
    loading: false
  }
  Object.defineProperty(globalThis, STATE, { value: rec, enumerable: false, configurable: true })
  const target = fs as unknown as Table
  // Node's own functions that are replaced here, for node-fs.ts (boros keeps calling them).
  const originals: Table = {}
  Object.defineProperty(globalThis, FS_ORIGINALS, { value: originals, enumerable: false, configurable: true })

  if (callbacksWanted()) {
    for (const name of RING_FUNCTIONS) {
      const original = target[name] as Fn
      originals[name] = original
      put(
        target,
        name,
        standIn(name, original, () => {
          load()
          return rec.real.callbacks[name]!
        }),
        true
      )
      rec.callbacks.push(name)
    }
  }

  // fs.createReadStream(path, { fd: handle }) / fs.createWriteStream: Node's stream classes
  // accept only Node's own FileHandle as `fd`; a boros FileHandle is served by boros' streams
  // (Node's stream classes reading through the handle). No boros FileHandle can exist before
  // boros/fs is loaded, so nothing is loaded here.
  const nodeCreateReadStream = fs.createReadStream
  const nodeCreateWriteStream = fs.createWriteStream
  originals.createReadStream = nodeCreateReadStream
  originals.createWriteStream = nodeCreateWriteStream
  fs.createReadStream = function createReadStream(this: unknown, path: unknown, options?: unknown) {
    const fd = (options as { fd?: unknown } | null | undefined)?.fd
    const bfs = typeof fd === 'object' && fd !== null ? loadedBorosFs() : undefined
    if (bfs !== undefined && fd instanceof bfs.FileHandle) {
      return bfs.createReadStream(fd, { ...(options as object), fd: undefined } as never)
    }
    return Reflect.apply(nodeCreateReadStream, this, [path, options])
  } as typeof fs.createReadStream
  fs.createWriteStream = function createWriteStream(this: unknown, path: unknown, options?: unknown) {
    const fd = (options as { fd?: unknown } | null | undefined)?.fd
    const bfs = typeof fd === 'object' && fd !== null ? loadedBorosFs() : undefined
    if (bfs !== undefined && fd instanceof bfs.FileHandle) {
      return bfs.createWriteStream(fd, { ...(options as object), fd: undefined } as never)
    }
    return Reflect.apply(nodeCreateWriteStream, this, [path, options])
  } as typeof fs.createWriteStream

  // node:fs/promises: swapped when first asked for.
  Object.defineProperty(fs, 'promises', { configurable: true, enumerable: true, get: swapPromises })
  const proc = process as unknown as { getBuiltinModule?: (id: string) => unknown }
  const getBuiltin = proc.getBuiltinModule
  if (typeof getBuiltin === 'function') {
    proc.getBuiltinModule = function getBuiltinModule(this: unknown, id: string) {
      if (SPECIFIERS.has(id)) swapPromises()
      return Reflect.apply(getBuiltin, this, [id])
    }
  }
  const m = Module as unknown as {
    registerHooks?: (hooks: {
      resolve: (s: string, c: unknown, next: (s: string, c?: unknown) => unknown) => unknown
    }) => unknown
  }
  if (typeof m.registerHooks === 'function') {
    // require() and import of fs/promises both pass here (in this thread, no loader thread).
    m.registerHooks({
      resolve(specifier, context, next) {
        if (SPECIFIERS.has(specifier)) swapPromises()
        return next(specifier, context)
      }
    })
  } else swapPromises()
  Module.syncBuiltinESMExports()
  // node:net too, when asked (opt-in): see register-net.ts (loaded only then).
  const v = process.env.BOROS_REGISTER_NET
  if (v === '1' || v === 'true' || v === 'on')
    (require('./register-net.js') as typeof import('./register-net.js')).installNet()
}

/** The net swap's state (register-net.ts, when the flag loaded it). */
function netState(): NetRegisterState {
  const m = require.cache[join(__dirname, 'register-net.js')]
  if (m?.loaded) return (m.exports as typeof import('./register-net.js')).netRegisterState()
  return { active: false, loaded: false, esm: 'none' }
}
