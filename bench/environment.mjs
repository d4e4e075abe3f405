// What bench/run.mjs records of the machine: the Node under test (and whether it honours
// UV_USE_IO_URING), CPU, memory, kernel, data folder.
import fs from 'node:fs'
import os from 'node:os'
import { spawnSync } from 'node:child_process'
import { log, GiB } from './util.mjs'

// ---------------------------------------------------------- environment --
export function probeNode(nodeBin) {
  const r = spawnSync(
    nodeBin,
    ['-p', 'JSON.stringify({version: process.version, uv: process.versions.uv, napi: process.versions.napi})'],
    { encoding: 'utf8' }
  )
  if (r.status !== 0) {
    log(`cannot run ${nodeBin}: ${r.error?.message ?? r.stderr}`)
    process.exit(2)
  }
  return JSON.parse(r.stdout)
}

// Count the io_uring file descriptors a Node process holds after one fs.read.
const URING_PROBE = `
const fs = require('fs');
fs.read(fs.openSync(process.execPath, 'r'), Buffer.alloc(64), 0, 64, 0, () => {
  let n = 0;
  for (const f of fs.readdirSync('/proc/self/fd')) {
    try { if (fs.readlinkSync('/proc/self/fd/' + f).includes('io_uring')) n++; } catch {}
  }
  console.log(n);
});`

export function probeUring(nodeBin, node) {
  const count = (v) => {
    const r = spawnSync(nodeBin, ['-e', URING_PROBE], { encoding: 'utf8', env: { ...process.env, UV_USE_IO_URING: v } })
    return r.status === 0 ? Number(r.stdout.trim()) : -1
  }
  const on = count('1')
  const off = count('0')
  const [maj, min] = node.uv.split('.').map(Number)
  const versionSaysYes = maj === 1 && min >= 45 && min <= 48
  let disabled = null
  try {
    disabled = fs.readFileSync('/proc/sys/kernel/io_uring_disabled', 'utf8').trim()
  } catch {}
  const honoured = on > off
  let reason
  if (honoured)
    reason = `Node ${node.version} (libuv ${node.uv}) honours UV_USE_IO_URING=1 (${on} io_uring fds with it, ${off} without)`
  else if (!versionSaysYes)
    reason = `Node ${node.version} (libuv ${node.uv}) does not honour UV_USE_IO_URING for file I/O (only Node 20 / libuv 1.45–1.48 does); the +uring contenders are skipped`
  else
    reason = `Node ${node.version} (libuv ${node.uv}) should honour UV_USE_IO_URING but opened no io_uring (kernel.io_uring_disabled=${disabled ?? '?'}, seccomp?); the +uring contenders are skipped`
  return { honoured, reason, fdsWith: on, fdsWithout: off, ioUringDisabled: disabled }
}

export function machineInfo(dataDir, fsinfo) {
  const cpus = os.cpus()
  return {
    cpu: cpus[0]?.model?.trim() ?? 'unknown',
    cores: cpus.length,
    memGiB: +(os.totalmem() / GiB).toFixed(1),
    kernel: os.release(),
    hostname: os.hostname(),
    dataDir,
    fsType: fsinfo.type
  }
}
