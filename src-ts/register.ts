/**
 * `boros/register`: the one-flag drop-in mode. `node --import boros/register app.js` (or
 * `--require boros/register`, or either in `NODE_OPTIONS`) makes the whole application and its
 * dependencies get `boros/fs` where they ask for `node:fs/promises`:
 *
 * - `require('fs/promises')`, `require('node:fs/promises')` (a `Module._load` hook),
 * - `import ... from 'fs/promises'` / `'node:fs/promises'`, named, default and namespace imports
 *   (a module resolve hook: `module.registerHooks` where Node has it, `module.register` before),
 * - `require('fs').promises`, `import { promises } from 'fs'`, `(await import('fs')).promises`
 *   (the `promises` getter of the `fs` module is redefined, `syncBuiltinESMExports()` called).
 *
 * With `BOROS_REGISTER_FS_CALLBACKS=1`, also the `fs` callback functions that boros/fs/callback
 * serves on the ring (`fs.read`, `fs.open`, `fs.stat`... on the `fs` module object, and ESM
 * named imports of them after `syncBuiltinESMExports()`).
 *
 * Not swapped: the `fs` callback API (unless opted in) and sync API, `process.getBuiltinModule('fs/promises')`,
 * Node's internals (`fs.createReadStream`, `stream/promises`, http2 `respondWithFile`... use
 * Node's own file code), and modules that boros itself loads (boros/fs falls back to
 * `node:fs/promises` where io_uring is unavailable, so boros' own files always get Node's).
 *
 * What the swapped module holds: every name of the running Node's `node:fs/promises`, each
 * boros/fs' own where boros/fs has it (all of them today), Node's otherwise.
 * @module
 */
import fs = require('node:fs')
import * as nodeFsp from 'node:fs/promises'
import Module from 'node:module'
import { dirname, join, sep } from 'node:path'
import { pathToFileURL } from 'node:url'

const STATE = Symbol.for('boros.register')

/** What `boros/register` did in this thread (see {@link registerState}). */
export interface RegisterState {
  /** Whether the swap is installed in this thread. */
  readonly active: boolean
  /** Which mechanism serves ES module imports: `'registerHooks'` (in-thread) or `'register'` (loader thread). */
  readonly esm: 'registerHooks' | 'register' | 'none'
  /** The names the swapped module serves from boros/fs (the rest are Node's own). */
  readonly fromBoros: readonly string[]
  /** The names served by Node's own `node:fs/promises` (not in boros/fs). */
  readonly fromNode: readonly string[]
  /**
   * The `fs` callback functions replaced by boros/fs/callback's (`BOROS_REGISTER_FS_CALLBACKS=1`;
   * empty otherwise).
   */
  readonly callbacks: readonly string[]
}

type Facade = Record<string, unknown>

interface Installed {
  facade: Facade
  state: RegisterState
}

const PACKAGE_ROOT = join(__dirname, '..')
/** Files of boros itself: they get Node's own fs/promises (boros/fs falls back to it). */
const INTERNAL_DIRS = [join(PACKAGE_ROOT, 'dist') + sep, join(PACKAGE_ROOT, 'register') + sep]
const INTERNAL_URLS = INTERNAL_DIRS.map((d) => pathToFileURL(d).href)
const FACADE_URL = pathToFileURL(join(PACKAGE_ROOT, 'register', 'fs-promises.mjs')).href
const HOOKS_URL = pathToFileURL(join(PACKAGE_ROOT, 'register', 'hooks.mjs')).href

const SPECIFIERS = new Set(['fs/promises', 'node:fs/promises'])

function installed(): Installed | undefined {
  return (globalThis as Record<symbol, Installed | undefined>)[STATE]
}

function isInternalFile(filename: string | undefined | null): boolean {
  return typeof filename === 'string' && INTERNAL_DIRS.some((d) => filename.startsWith(d))
}

/** Whether a module URL (a resolve hook's `parentURL`) is one of boros' own files. */
export function isInternalURL(url: string | undefined): boolean {
  return typeof url === 'string' && INTERNAL_URLS.some((u) => url.startsWith(u))
}

/** The object served for `node:fs/promises`: Node's names, boros/fs' functions. */
function makeFacade(): { facade: Facade; fromBoros: string[]; fromNode: string[] } {
  // Loaded here, not at the top: requiring boros/fs sets nothing up (the ring is made lazily).
  const boros = require('./fs/index.js') as Facade
  const node = nodeFsp as unknown as Facade
  const facade: Facade = {}
  const fromBoros: string[] = []
  const fromNode: string[] = []
  for (const name of Object.keys(node)) {
    if (name === 'default') continue
    if (name in boros && boros[name] !== undefined) {
      facade[name] = boros[name]
      fromBoros.push(name)
    } else {
      facade[name] = node[name]
      fromNode.push(name)
    }
  }
  return { facade, fromBoros, fromNode }
}

/** The swapped module, installing the swap first if needed. */
export function facade(): Facade {
  return install().facade
}

/** What the swap does in this thread; `active: false` when `boros/register` was not loaded. */
export function registerState(): RegisterState {
  return installed()?.state ?? { active: false, esm: 'none', fromBoros: [], fromNode: [], callbacks: [] }
}

/** Installs the swap in this thread (idempotent). `boros/register` calls it. */
export function install(): Installed {
  const done = installed()
  if (done !== undefined) return done
  const { facade, fromBoros, fromNode } = makeFacade()

  // CommonJS: require('fs/promises') / require('node:fs/promises') from anything but boros.
  const M = Module as unknown as {
    _load: (request: string, parent: { filename?: string } | undefined, isMain: boolean) => unknown
  }
  const load = M._load
  M._load = function (this: unknown, request, parent, isMain) {
    if (SPECIFIERS.has(request) && !isInternalFile(parent?.filename)) return facade
    return Reflect.apply(load, this, [request, parent, isMain])
  }

  // fs.createReadStream(path, { fd: handle }) / fs.createWriteStream: Node's stream classes
  // accept only Node's own FileHandle as `fd`; a boros FileHandle is served by boros' streams
  // (which are Node's stream classes reading through the handle).
  const bfs = require('./fs/index.js') as typeof import('./fs/index.js')
  const nodeCreateReadStream = fs.createReadStream
  const nodeCreateWriteStream = fs.createWriteStream
  fs.createReadStream = function createReadStream(this: unknown, path: unknown, options?: unknown) {
    const fd = (options as { fd?: unknown } | null | undefined)?.fd
    if (typeof options === 'object' && fd instanceof bfs.FileHandle) {
      return bfs.createReadStream(fd, { ...(options as object), fd: undefined } as never)
    }
    return Reflect.apply(nodeCreateReadStream, this, [path, options])
  } as typeof fs.createReadStream
  fs.createWriteStream = function createWriteStream(this: unknown, path: unknown, options?: unknown) {
    const fd = (options as { fd?: unknown } | null | undefined)?.fd
    if (typeof options === 'object' && fd instanceof bfs.FileHandle) {
      return bfs.createWriteStream(fd, { ...(options as object), fd: undefined } as never)
    }
    return Reflect.apply(nodeCreateWriteStream, this, [path, options])
  } as typeof fs.createWriteStream

  // require('fs').promises and ESM `import { promises } from 'fs'`.
  Object.defineProperty(fs, 'promises', {
    configurable: true,
    enumerable: true,
    get: () => facade
  })
  // Opt-in: the callback API (`fs.read`, `fs.stat`...) on the ring, for everyone that calls
  // it through the module object — applications, dependencies, and Node's own fs streams
  // (`fs.createReadStream` reads with `fs.read`). boros itself keeps Node's (node-fs.ts).
  const callbacks: string[] = []
  if (process.env.BOROS_REGISTER_FS_CALLBACKS === '1') {
    const cb = require('./fs/callback.js') as Record<string, unknown> & { ringFunctions: readonly string[] }
    const target = fs as unknown as Record<string, unknown>
    for (const name of cb.ringFunctions) {
      target[name] = cb[name]
      callbacks.push(name)
    }
  }
  Module.syncBuiltinESMExports()

  // ES modules: resolve the specifier to a module that re-exports the facade.
  let esm: RegisterState['esm'] = 'none'
  const m = Module as unknown as {
    registerHooks?: (hooks: {
      resolve: (
        specifier: string,
        context: { parentURL?: string; conditions?: readonly string[] },
        next: (s: string, c?: unknown) => unknown
      ) => unknown
    }) => unknown
    register?: (specifier: string, parentURL?: string) => void
  }
  if (typeof m.registerHooks === 'function') {
    m.registerHooks({
      resolve(specifier, context, next) {
        // require() also passes here; it is left to the Module._load hook above.
        if (
          SPECIFIERS.has(specifier) &&
          !context.conditions?.includes('require') &&
          !isInternalURL(context.parentURL) &&
          context.parentURL !== FACADE_URL
        ) {
          return { url: FACADE_URL, shortCircuit: true }
        }
        return next(specifier, context)
      }
    })
    esm = 'registerHooks'
  } else if (typeof m.register === 'function') {
    m.register(HOOKS_URL, pathToFileURL(dirname(HOOKS_URL)).href)
    esm = 'register'
  }

  const state: RegisterState = { active: true, esm, fromBoros, fromNode, callbacks }
  const record: Installed = { facade, state }
  Object.defineProperty(globalThis, STATE, { value: record, enumerable: false, configurable: true })
  return record
}
