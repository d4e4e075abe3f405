// Network workload 1: TCP echo on loopback. The load generator is the native Rust
// echo_client (crates/boros/examples/echo_client.rs: one ring, one thread, closed loop: each
// connection sends one message and waits for all of it to come back). The contenders are
// servers (bench/net/server.mjs), each in its own process on its own core.
export default {
  name: 'echo',
  net: true,
  title: 'TCP echo on loopback (closed loop, native load generator)',
  unit: 'req/s',
  op: 'message echoed',
  base: 'node-net',
  boros: 'boros-ll',
  contenders: ['node-net', 'boros-ll', 'boros-conn', 'boros-net', 'native-echo'],
  // The native server is one thread: it has no scaling rows; it runs for a fixed time, so it
  // has no idle row either.
  skip: (cfg, c) => ((cfg.scaling || cfg.idle) && c === 'native-echo' ? 'n/a' : null),
  configs: (o) => {
    const out = []
    for (const size of [64, 16 * 1024])
      for (const conns of o.quick ? [1, 64] : [1, 64, 1000])
        out.push({ label: `${size >= 1024 ? size / 1024 + ' KiB' : size + ' B'} x ${conns} conns`, size, conns })
    // Scaling: the same server in 1 and 2 worker_threads (reusePort, a ring each).
    for (const workers of [1, 2])
      out.push({
        label: `64 B x 64 conns, ${workers} worker${workers > 1 ? 's' : ''} (scaling)`,
        size: 64,
        conns: 64,
        workers,
        scaling: true
      })
    // Memory at scale: the server's RSS with 10,000 connections open and idle, each having
    // echoed one 64 B message (bench/net/idle-client.mjs in echo mode; not with --quick).
    if (!o.quick) out.push({ label: 'idle x 10000 conns (RSS)', size: 64, conns: 10_000, idle: 10_000, path: 'echo' })
    return out
  }
}
