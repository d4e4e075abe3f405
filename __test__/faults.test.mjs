// Load/fault scripts of issue 24 (scripts/faults/*), run short: each exits non-zero when it
// saw what must never happen. Longer runs: the same scripts with larger --runs.
import test from 'ava'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)
const script = (name) => fileURLToPath(new URL(`../scripts/faults/${name}`, import.meta.url))

async function fault(t, name, args, env = {}) {
  try {
    const { stdout } = await run(process.execPath, [script(name), ...args], {
      env: { ...process.env, ...env },
      timeout: 60_000
    })
    t.log(stdout.trim())
    return JSON.parse(stdout.trim().split('\n').pop())
  } catch (e) {
    t.fail(`${name} ${args.join(' ')} failed: ${e.stdout ?? ''}${e.stderr ?? ''}${e.message}`)
    return undefined
  }
}

for (const backend of ['io_uring', 'fallback']) {
  for (const mode of ['path', 'fh', 'callback']) {
    test.serial(`readFile (${mode}) while another thread truncates: always a prefix, never zeros past the cut (${backend})`, async (t) => {
      const env = backend === 'fallback' ? { BOROS_BACKEND: 'fallback' } : {}
      const r = await fault(t, 'truncate-while-reading.mjs', ['--mode', mode, '--runs', '25'], env)
      t.is(r?.bad, 0)
      t.true(r?.reads > 0)
    })
  }
}
