/**
 * `BOROS_REGISTER_NET=1` with `boros/register`: the application's `node:net` is boros/net.
 *
 * - **`require('net')` / `require('node:net')`** from the application and its dependencies
 *   (ioredis, pg, undici from npm, ws...) gets boros/net's module: a `Module._load` hook, or
 *   the `module.registerHooks` resolve hook where Node has it (22.15+; on releases where
 *   it cannot redirect `require('node:net')`, 22.15-22.22 and 24.0-24.13, the `Module._load`
 *   hook serves require() first: `REGISTER_HOOKS_REDIRECT_NODE_BUILTIN`).
 * - **`import 'node:net'`** (static or dynamic): the resolve hook above, or on releases
 *   without `registerHooks` an asynchronous `module.register` loader that resolves it to
 *   boros/net's file.
 * - **`process.getBuiltinModule('net')`** gives boros/net too.
 * - **node:http's client** (`http.request`, `http.get`, `fetch`-free agents): `http.Agent`'s
 *   `createConnection` is boros/net's `createConnection`, so every plain-HTTP agent connection
 *   is a boros socket. (https agents stay Node's: TLS needs node:net's libuv handle.)
 *
 * Node's own modules keep node:net (they load it through Node's internal loader, which no hook
 * sees): `tls`, `http2`, `child_process` stdio, `cluster` and the HTTP server need libuv
 * handles, and node:net is what they get. So does boros itself. Lazy like the fs swap: nothing
 * of boros/net is loaded until the application first asks for `net` (or makes a request).
 * @module
 */
import Module = require('node:module')
import { join, sep } from 'node:path'
import { pathToFileURL } from 'node:url'
import { REGISTER_HOOKS_REDIRECT_NODE_BUILTIN } from './node-facts.js'

const NET_INDEX = join(__dirname, 'net', 'index.js')
/** boros' own files (dist/): they get node:net itself. */
const OWN_DIR = __dirname + sep
const OWN_URL = pathToFileURL(__dirname).href + '/'
const SPECIFIERS = new Set(['net', 'node:net'])

/** What the net swap did in this thread. */
export interface NetRegisterState {
  /** Whether `BOROS_REGISTER_NET` turned it on. */
  readonly active: boolean
  /** Whether boros/net has been loaded (the application asked for `net`, or made a request). */
  readonly loaded: boolean
  /** How ES module imports of `node:net` are redirected. */
  readonly esm: 'registerHooks' | 'register' | 'none'
}

const state: { active: boolean; loaded: boolean; esm: NetRegisterState['esm'] } = {
  active: false,
  loaded: false,
  esm: 'none'
}

function borosNet(): typeof import('./net/index.js') {
  state.loaded = true
  return require(NET_INDEX) as typeof import('./net/index.js')
}

function fromBoros(parent: string | undefined): boolean {
  return parent !== undefined && (parent.startsWith(OWN_DIR) || parent.startsWith(OWN_URL))
}

/** What the net swap did in this thread. */
export function netRegisterState(): NetRegisterState {
  return { ...state }
}

type Loader = (request: string, parent: { filename?: string } | undefined, isMain: boolean) => unknown

/** Installs the net swap in this thread (once). */
export function installNet(): void {
  if (state.active) return
  state.active = true
  const M = Module as unknown as {
    _load: Loader
    registerHooks?: (hooks: {
      resolve: (s: string, c: { parentURL?: string }, next: (s: string, c?: unknown) => unknown) => unknown
    }) => unknown
    register?: (specifier: string) => void
  }
  const netUrl = pathToFileURL(NET_INDEX).href
  const hookLoad = (): void => {
    const load = M._load
    M._load = function _load(this: unknown, request, parent, _isMain) {
      if (SPECIFIERS.has(request) && !fromBoros(parent?.filename)) return borosNet()
      // biome-ignore lint/complexity/noArguments: passed on unchanged
      return Reflect.apply(load, this, arguments)
    }
  }
  if (typeof M.registerHooks === 'function') {
    // require() and import both pass here (in this thread). Where Node's require of a `node:`
    // builtin that the hook sends elsewhere throws (node-facts.ts), require() is served first
    // by the Module._load hook, so only import reaches the resolve hook. (module.register's
    // loader next to the fs swap's registerHooks ended the process silently on 22.15.)
    if (!REGISTER_HOOKS_REDIRECT_NODE_BUILTIN) hookLoad()
    M.registerHooks({
      resolve(specifier, context, next) {
        if (SPECIFIERS.has(specifier) && !fromBoros(context.parentURL)) {
          state.loaded = true
          return { url: netUrl, format: 'commonjs', shortCircuit: true }
        }
        return next(specifier, context)
      }
    })
    state.esm = 'registerHooks'
  } else {
    hookLoad()
    if (typeof M.register === 'function') {
      // ES module imports: a loader (in Node's loader thread) that resolves node:net to boros/net.
      const src = `const S = new Set(['net', 'node:net']);
export async function resolve(s, c, next) {
  if (S.has(s) && !(c.parentURL || '').startsWith(${JSON.stringify(OWN_URL)}))
    return { url: ${JSON.stringify(netUrl)}, format: 'commonjs', shortCircuit: true };
  return next(s, c);
}`
      M.register(`data:text/javascript,${encodeURIComponent(src)}`)
      state.esm = 'register'
    }
  }
  const proc = process as unknown as { getBuiltinModule?: (id: string) => unknown }
  const getBuiltin = proc.getBuiltinModule
  if (typeof getBuiltin === 'function') {
    proc.getBuiltinModule = function getBuiltinModule(this: unknown, id: string) {
      if (SPECIFIERS.has(id)) return borosNet()
      return Reflect.apply(getBuiltin, this, [id])
    }
  }
  // node:http's client agents: boros sockets. (Loading node:http here costs a few ms; only
  // with the opt-in flag.)
  const http = require('node:http') as typeof import('node:http')
  const proto = http.Agent.prototype as unknown as { createConnection: (...a: unknown[]) => unknown }
  proto.createConnection = function createConnection(this: unknown, ...args: unknown[]) {
    return Reflect.apply(borosNet().createConnection, this, args)
  }
}
