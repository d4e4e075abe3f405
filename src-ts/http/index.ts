/**
 * `boros/http`: HTTP/1.1 served next to the ring. `serve({ fetch })` (Bun.serve / Deno.serve's
 * shape) on the boros engine (`engine.ts`), node:http where io_uring is unavailable.
 * @module
 */
export { serve } from './serve.js'
export type { FetchHandler, HttpServer, ServeOptions } from './serve.js'
export { ServeRequest } from './request.js'
