// The contenders of the file benchmarks (bench/run.mjs): how each runs, in table order.

// ------------------------------------------------------------ contenders --
// env: UV_USE_IO_URING is pinned for every Node contender so that an inherited
// value cannot change what the baselines measure.
export const CONTENDERS = {
  boros: { label: 'boros', kind: 'promise', api: 'boros', env: { UV_USE_IO_URING: '0' } },
  // The same boros calls on BufferPool buffers (READ_FIXED into registered memory, no copy):
  // what a user who opts in to pool buffers gets. Only workloads that read into caller buffers.
  'boros-pool': {
    label: 'boros, BufferPool',
    kind: 'promise',
    api: 'boros',
    pool: true,
    env: { UV_USE_IO_URING: '0' }
  },
  // The write routes side by side (seqwrite only; `boros` is the route chosen by default, see
  // src-ts/fs/descriptor-route.ts writeRoute): forced with BOROS_WRITE_ROUTE.
  'boros-wring': {
    label: 'boros, writes on the ring',
    kind: 'promise',
    api: 'boros',
    env: { UV_USE_IO_URING: '0', BOROS_WRITE_ROUTE: 'ring' }
  },
  'boros-wasync': {
    label: 'boros, writes ring+IOSQE_ASYNC',
    kind: 'promise',
    api: 'boros',
    env: { UV_USE_IO_URING: '0', BOROS_WRITE_ROUTE: 'async' }
  },
  'boros-wpool': {
    label: 'boros, writes on the threadpool',
    kind: 'promise',
    api: 'boros',
    env: { UV_USE_IO_URING: '0', BOROS_WRITE_ROUTE: 'pool' }
  },
  // The default route with the write-behind of src-ts/fs/write-behind.ts on the ring for every
  // large file, not only those that will be synced (seqwrite only; by default a file nothing is
  // known to sync, as this workload's, is written behind on idle CPU only).
  'boros-wb': {
    label: 'boros, write-behind always',
    kind: 'promise',
    api: 'boros',
    env: { UV_USE_IO_URING: '0', BOROS_WRITE_BEHIND: '1' }
  },
  // The previous default: write-behind only for files known to be synced, none on idle CPU.
  'boros-wsynced': {
    label: 'boros, write-behind synced only',
    kind: 'promise',
    api: 'boros',
    env: { UV_USE_IO_URING: '0', BOROS_WRITE_BEHIND: 'synced' }
  },
  // boros/fs/callback: node:fs's callback API on the ring (the `cb` workload code, boros' module).
  'boros-cb': { label: 'boros callbacks', kind: 'callback', api: 'boros-cb', env: { UV_USE_IO_URING: '0' } },
  fsp: { label: 'fs/promises', kind: 'promise', api: 'node', env: { UV_USE_IO_URING: '0' } },
  cb: { label: 'fs callbacks', kind: 'callback', api: 'node', env: { UV_USE_IO_URING: '0' } },
  sync: { label: 'fs sync', kind: 'sync', api: 'node', env: { UV_USE_IO_URING: '0' }, qdIndependent: true },
  'fsp-uring': {
    label: 'fs/promises +uring',
    kind: 'promise',
    api: 'node',
    env: { UV_USE_IO_URING: '1' },
    uring: true
  },
  'cb-uring': {
    label: 'fs callbacks +uring',
    kind: 'callback',
    api: 'node',
    env: { UV_USE_IO_URING: '1' },
    uring: true
  },
  native: { label: 'native io_uring', external: 'native' },
  fio: { label: 'fio io_uring', external: 'fio' },
  // Network servers (workloads echo and http; bench/net/server.mjs), driven by external
  // load generators (bench/net/run.mjs).
  'node-net': { label: 'node:net', server: 'echo-node', env: { UV_USE_IO_URING: '0' } },
  'boros-ll': { label: 'boros Connection (cb)', server: 'echo-boros-ll', env: { UV_USE_IO_URING: '0' } },
  'boros-conn': { label: 'boros listen()/Conn', server: 'echo-boros-conn', env: { UV_USE_IO_URING: '0' } },
  'boros-net': { label: 'boros/net Socket', server: 'echo-boros-net', env: { UV_USE_IO_URING: '0' } },
  'native-echo': { label: 'native io_uring echo', external: 'native-echo' },
  'http-node': { label: 'node:http on libuv', server: 'http-node', env: { UV_USE_IO_URING: '0' } },
  'http-boros': { label: 'node:http on boros/net', server: 'http-boros-net', env: { UV_USE_IO_URING: '0' } },
  'http-create': { label: 'boros/http createServer', server: 'http-boros-create', env: { UV_USE_IO_URING: '0' } },
  'http-serve': { label: 'boros/http serve', server: 'http-boros-serve', env: { UV_USE_IO_URING: '0' } },
  'express-node': { label: 'Express on node:http', server: 'express-node', env: { UV_USE_IO_URING: '0' } },
  'express-boros': { label: 'Express on boros/http', server: 'express-boros', env: { UV_USE_IO_URING: '0' } },
  // boros/http with zero-copy sends off (BOROS_HTTP_ZC=off) and forced on every large body
  // (=always; by default a connection stops once the kernel says it copied, as on loopback):
  // same-run baselines of the large-body rows. Opt-in: only run when named in --contenders.
  'http-create-copy': {
    label: 'boros/http createServer, no zero copy',
    server: 'http-boros-create',
    env: { UV_USE_IO_URING: '0', BOROS_HTTP_ZC: 'off' },
    optIn: true
  },
  'http-create-zc': {
    label: 'boros/http createServer, zero copy always',
    server: 'http-boros-create',
    env: { UV_USE_IO_URING: '0', BOROS_HTTP_ZC: 'always' },
    optIn: true
  },
  'http-serve-copy': {
    label: 'boros/http serve, no zero copy',
    server: 'http-boros-serve',
    env: { UV_USE_IO_URING: '0', BOROS_HTTP_ZC: 'off' },
    optIn: true
  },
  'http-serve-zc': {
    label: 'boros/http serve, zero copy always',
    server: 'http-boros-serve',
    env: { UV_USE_IO_URING: '0', BOROS_HTTP_ZC: 'always' },
    optIn: true
  },
  'express-boros-copy': {
    label: 'Express on boros/http, no zero copy',
    server: 'express-boros',
    env: { UV_USE_IO_URING: '0', BOROS_HTTP_ZC: 'off' },
    optIn: true
  },
  'bun-serve': { label: 'Bun.serve', external: 'anchor-bun' },
  'deno-serve': { label: 'Deno.serve', external: 'anchor-deno' }
}
export const CONTENDER_ORDER = Object.keys(CONTENDERS)
