// What the accept-burst tools (accept-burst.mjs, sock-cost.mjs) share: a server and a client
// process that talk in lines, and a server thread held asleep until the client has done its part.
import { spawn } from 'node:child_process'
import fs from 'node:fs'

/** Calls `on(line)` for each line `stream` brings. */
export function lines(stream, on) {
  let buf = ''
  stream.setEncoding('utf8')
  stream.on('data', (d) => {
    buf += d
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i)
      buf = buf.slice(i + 1)
      on(line)
    }
  })
}

// Holds the thread until `flag` exists (the client has done its part), as a busy server would
// (asleep, so that a profile of the process shows the bursts only).
const nap = new Int32Array(new SharedArrayBuffer(4))
export function holdUntil(flag) {
  while (!fs.existsSync(flag)) Atomics.wait(nap, 0, 0, 2)
  fs.unlinkSync(flag)
}

/**
 * Starts `script` as the server (`--role-server spec`, with `nodeFlags`, in `cwd`) and, once it
 * printed `PORT n`, as the client (`--role-client { port, conns }`). `wait(proc, re)` resolves
 * with the next line of `proc` matching `re` (lines that came before it waited are kept).
 */
export async function startPair(script, nodeFlags, spec, cwd) {
  const waiters = []
  const seen = []
  const wait = (proc, re) =>
    new Promise((resolve) => {
      const i = seen.findIndex((s) => s.proc === proc && re.test(s.line))
      if (i >= 0) resolve(seen.splice(i, 1)[0].line)
      else waiters.push({ proc, re, resolve })
    })
  const feed = (proc) => (line) => {
    const i = waiters.findIndex((w) => w.proc === proc && w.re.test(line))
    if (i >= 0) waiters.splice(i, 1)[0].resolve(line)
    else seen.push({ proc, line })
  }
  const srv = spawn(process.execPath, [...nodeFlags, script, '--role-server', JSON.stringify(spec)], {
    cwd,
    stdio: ['pipe', 'pipe', 'inherit']
  })
  lines(srv.stdout, feed(srv))
  const port = Number((await wait(srv, /^PORT /)).split(' ')[1])
  const cli = spawn(process.execPath, [script, '--role-client', JSON.stringify({ port, conns: spec.conns })], {
    stdio: ['pipe', 'pipe', 'inherit']
  })
  lines(cli.stdout, feed(cli))
  return { srv, cli, wait }
}

/** The median of `a`. */
export function median(a) {
  const s = [...a].sort((x, y) => x - y)
  return s[s.length >> 1]
}
