/**
 * The request and response constructors `createServer()` uses for a request listener. For an
 * Express app (a function with `handle`, and `request` / `response` objects that inherit from
 * node's `http.IncomingMessage.prototype` / `http.ServerResponse.prototype`), constructors
 * whose instances have the app's prototypes from the start: Express's
 * `Object.setPrototypeOf(req, app.request)` (and `res`) then changes nothing, and what Express
 * and its router add to them afterwards (`res.locals`, `req.next`, `req.params`...) follows the
 * cached transitions of one map. After a real swap, Node 24's V8 copies the object's map (~20-30
 * ns per own property), and Node 20's caches no transition from the swapped map: each property
 * added after it cost ~1-2 µs (bench/extra/proto-swap.mjs). Any other listener: the classes.
 * @module
 */
import * as http from 'node:http'
import { IncomingMessage, type RequestClass, requestClassOn } from './incoming.js'
import { type ResponseClass, ServerResponse, responseClassOn } from './outgoing.js'

export interface Classes {
  Req: RequestClass
  Res: ResponseClass
}

const DEFAULT: Classes = { Req: IncomingMessage, Res: ServerResponse }

interface AppEntry {
  request: object
  response: object
  classes: Classes
}

/** Per app: the prototypes the classes were made on (an app may replace them). */
const made = new WeakMap<object, AppEntry>()

const isObject = (x: unknown): x is object => typeof x === 'object' && x !== null

/** The constructors for requests to `listener` (the server's only 'request' listener). */
export function classesFor(listener: unknown): Classes {
  if (typeof listener !== 'function') return DEFAULT
  const app = listener as { handle?: unknown; request?: unknown; response?: unknown }
  const { request, response } = app
  if (!isObject(request) || !isObject(response) || typeof app.handle !== 'function') return DEFAULT
  const had = made.get(listener)
  if (had !== undefined && had.request === request && had.response === response) return had.classes
  if (
    !Object.prototype.isPrototypeOf.call(http.IncomingMessage.prototype, request) ||
    !Object.prototype.isPrototypeOf.call(http.ServerResponse.prototype, response)
  )
    return DEFAULT
  const classes = { Req: requestClassOn(request), Res: responseClassOn(response) }
  made.set(listener, { request, response, classes })
  return classes
}
