/**
 * `boros/http`: HTTP/1.1 served next to the ring. `serve({ fetch })` (Bun.serve / Deno.serve's
 * shape) and `createServer((req, res) => …)` (node:http's shape) on the boros engine
 * (`engine.ts`); node:http where io_uring is unavailable.
 * @module
 */
import { usesRing } from '../binding.js'

export { serve } from './serve.js'
export type { FetchHandler, HttpServer, ServeOptions, SocketAddressInfo } from './serve.js'
export { ServeRequest } from './request.js'
export { LightResponse } from './light-response.js'
export { createServer, Server } from './server.js'
export type { ServerOptions } from './server.js'
export { IncomingMessage } from './incoming.js'
export { ServerResponse } from './outgoing.js'
export { BorosFile, file, sendFile } from './file.js'
export type { FileOptions, SendFileOptions } from './file.js'

/** Which backend `createServer()` uses on this thread: the boros engine, or node:http itself. */
export const backend: 'io_uring' | 'node:http' = usesRing() ? 'io_uring' : 'node:http'
