// boros/register: `node --import boros/register app` swaps node:fs/promises for boros/fs in
// every way an application can ask for it; `--require` does the same.
import test from 'ava'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { notOnRing } from './helpers/skip.mjs'

// The children inherit this process's backend. Off the ring boros/fs's handles are Node's own
// FileHandles: not instances of boros' FileHandle, and Node core takes them with or without the flag.
const onRing = notOnRing === undefined

const probe = fileURLToPath(new URL('./fixtures/register-probe.mjs', import.meta.url))
const root = fileURLToPath(new URL('..', import.meta.url))

function run(args, env = {}) {
  const r = spawnSync(process.execPath, [...args, probe], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '', ...env }
  })
  if (r.status !== 0) throw new Error(`exit ${r.status}: ${r.stderr}`)
  return JSON.parse(r.stdout)
}

const every = {
  lazy: true,
  esmDefault: true,
  esmNamespace: true,
  esmNamed: true,
  fsPromises: true,
  esmFsPromises: true,
  requireFsPromises: true,
  requireNodeFsPromises: true,
  requireFsDotPromises: true,
  dynamicImport: true,
  constants: true,
  handle: onRing,
  createReadStreamFd: true
}

for (const [how, args] of [
  ['--import boros/register', ['--import', 'boros/register']],
  ['--require boros/register', ['--require', 'boros/register']]
]) {
  test(`${how}: every way of asking for node:fs/promises gets boros/fs`, (t) => {
    const { state, ...got } = run(args)
    t.deepEqual(got, every)
    t.true(state.active)
    t.true(state.loaded)
    t.deepEqual(state.fromNode, ['constants'], 'every function of node:fs/promises is served by boros/fs')
  })
}

test('NODE_OPTIONS=--import=boros/register works too', (t) => {
  const { state, ...got } = run([], { NODE_OPTIONS: '--import=boros/register' })
  t.deepEqual(got, every)
})

test("ESM_LOADER_READS_WITH_FSP says whether this Node's ES module loader reads modules with fs/promises' readFile", async (t) => {
  // The wrapper that keeps module loading off boros exists only where the fact holds: counted
  // here on the running Node (it moved inside majors: 22.18 and 24.3 stopped; node-facts.ts).
  const { ESM_LOADER_READS_WITH_FSP } = await import('../dist/node-facts.js')
  const r = spawnSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `
    import { createRequire } from 'node:module'
    const fsp = createRequire(process.cwd() + '/')('fs/promises')
    const real = fsp.readFile
    let urls = 0
    fsp.readFile = function (path, ...rest) {
      if (path instanceof URL) urls++
      return real.call(this, path, ...rest)
    }
    await import('./__test__/fixtures/register-probe-target.mjs?' + process.pid)
    console.log(urls)
  `
    ],
    { cwd: root, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } }
  )
  t.is(r.status, 0, r.stderr)
  t.is(Number(r.stdout.trim()) > 0, ESM_LOADER_READS_WITH_FSP, `Node ${process.versions.node}`)
})

test('without the flag nothing is swapped', (t) => {
  const r = spawnSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `
    import { open } from 'node:fs/promises'
    import { createRequire } from 'node:module'
    const require = createRequire(process.cwd() + '/')
    console.log(open === require('./dist/fs/index.js').open, require('./dist/register.js').registerState().active)
  `
    ],
    { cwd: root, encoding: 'utf8' }
  )
  t.is(r.stdout.trim(), 'false false')
})

test('boros doctor says whether the drop-in mode is active', (t) => {
  const doctor = (env) => {
    const r = spawnSync(process.execPath, ['bin/boros.js', 'doctor', '--json'], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: '', ...env }
    })
    return JSON.parse(r.stdout).register
  }
  t.like(doctor({}), { active: false, inNodeOptions: false })
  t.like(doctor({ NODE_OPTIONS: '--import=boros/register' }), { active: true, inNodeOptions: true })
})

test('every function of node:fs/promises exists in boros/fs (the names the swap serves from boros)', async (t) => {
  const b = await import('../dist/fs/index.js')
  const node = await import('node:fs/promises')
  for (const [name, v] of Object.entries(node.default)) {
    if (typeof v === 'function') t.is(typeof b[name], 'function', name)
  }
})

test('the flag alone loads nothing of boros until a swapped function is called (no addon, no ring)', (t) => {
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      'boros/register',
      '-e',
      `const { registerState } = require('./dist/register.js')
       const files = () => Object.keys(require.cache).filter((k) => k.startsWith(process.cwd() + '/') && !k.includes('node_modules')).map((k) => k.slice(process.cwd().length + 1)).sort()
       const before = { files: files(), addon: files().some((f) => f.endsWith('.node')), state: registerState() }
       require('fs').stat('package.json', (err, st) => {
         console.log(JSON.stringify({ before, after: { loaded: registerState().loaded, size: st.size, addon: files().some((f) => f.endsWith('.node')) } }))
       })`
    ],
    { cwd: root, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } }
  )
  t.is(r.status, 0, r.stderr)
  const { before, after } = JSON.parse(r.stdout)
  t.false(before.addon)
  t.false(before.state.loaded)
  t.deepEqual(
    before.files.filter(
      (f) => !['dist/register.js', 'dist/node-facts.js', 'dist/fs/ring-names.js', 'dist/node-fsp.js'].includes(f)
    ),
    [],
    'only register.js and its two small modules (node-fsp.js where fs/promises is swapped at once)'
  )
  t.true(after.loaded)
  t.true(after.addon)
  t.true(after.size > 0)
})

test('the flag is one file: --import loads no CommonJS module, --require only dist/register.cjs; dist/register.js loaded besides shares the state', (t) => {
  const code = `const before = Object.keys(require.cache).map((k) => k.slice(process.cwd().length + 1))
    require('fs').stat('package.json', () => {
      const { registerState } = require('./dist/register.js')
      console.log(JSON.stringify({ before, loaded: registerState().loaded, active: registerState().active }))
    })`
  for (const [flag, files] of [
    ['--import', []],
    ['--require', ['dist/register.cjs']]
  ]) {
    const r = spawnSync(process.execPath, [flag, 'boros/register', '-e', code], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: '' }
    })
    t.is(r.status, 0, r.stderr)
    t.deepEqual(JSON.parse(r.stdout), { before: files, loaded: true, active: true }, flag)
  }
})

test('Node core takes boros FileHandles under the flag (ReadStream/WriteStream classes and factories, http2 respondWithFD, fs.promises.readFile), and rejects them without it', (t) => {
  const fixture = fileURLToPath(new URL('./fixtures/register-handles.mjs', import.meta.url))
  const run = (args, env = {}, after = []) => {
    const r = spawnSync(process.execPath, [...args, fixture, ...after], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: '', ...env }
    })
    if (r.status !== 0) throw new Error(`exit ${r.status}: ${r.stderr}`)
    return JSON.parse(r.stdout)
  }
  const works = {
    readStreamClass: true,
    createReadStream: true,
    writeStream: 'one two',
    createWriteStream: 'through createWriteStream',
    http2RespondWithFD: true,
    promisesReadFile: true
  }
  t.deepEqual(run(['--import', 'boros/register']), { borosHandle: onRing, ...works })
  // The fallback backend: boros' handles are Node's own.
  t.deepEqual(run(['--import', 'boros/register'], { BOROS_BACKEND: 'fallback' }), { borosHandle: false, ...works })
  // Without the flag Node rejects a boros handle everywhere (what the flag changes).
  const control = run([], {}, ['--control'])
  if (onRing) {
    t.true(control.borosHandle)
    for (const k of Object.keys(works)) t.is(control[k], 'ERR_INVALID_ARG_TYPE', k)
  } else {
    t.deepEqual(control, { borosHandle: false, ...works }, "off the ring the handles are Node's")
  }
})
