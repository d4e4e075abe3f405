// One way to run a test's child process (net-memory, net-compat, register-net): node with
// `args`, the parent's environment plus `env`, stdout and stderr collected, killed after
// `timeoutMs`. Resolves with the exit code and both outputs; each test decides what a pass is.
// `setup(p)` sees the child before it runs (e.g. to talk on an extra stdio pipe); `command`
// runs another program than node (a wrapper such as scripts/no-io-uring or prlimit).
import { spawn } from 'node:child_process'

export function runChild(args, { env = {}, cwd, stdio, timeoutMs = 30_000, setup, command = process.execPath } = {}) {
  return new Promise((resolve) => {
    const p = spawn(command, args, { cwd, stdio, env: { ...process.env, ...env } })
    let out = ''
    let err = ''
    p.stdout.on('data', (d) => (out += d))
    p.stderr.on('data', (d) => (err += d))
    setup?.(p)
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs)
    p.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, out, err })
    })
  })
}

/** The last line a child printed (its JSON result, by these tests' convention). */
export function lastLine(text) {
  return text.trim().split('\n').at(-1)
}

/** `argv[0]` with the rest of `argv`, as {@link runChild}; resolves with `{ code, stdout, stderr }`. */
export async function runCommand(argv, { env = {}, cwd, timeoutMs = 120_000 } = {}) {
  const { code, out, err } = await runChild(argv.slice(1), { command: argv[0], env, cwd, timeoutMs })
  return { code, stdout: out, stderr: err }
}
