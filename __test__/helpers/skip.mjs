// One way for a test that cannot run here to say so: decided when the file loads, reported by ava
// as skipped with the reason in its title — never as a pass. (architecture.test forbids the other
// way: a pass reported early from inside a test that did not run.)
import { spawnSync } from 'node:child_process'
import test from 'ava'
import { runtime } from '../../dist/index.js'

/**
 * `test` (or `test.serial`) when `why` is undefined; otherwise a function with the same call shape
 * that registers the test as skipped, its title ending in "— skipped: <why>".
 * @param {string | undefined} why
 * @param {{ serial?: boolean }} [opts]
 */
export function unless(why, { serial = false } = {}) {
  if (why === undefined) return serial ? test.serial : test
  return (title, fn = () => {}) => test.skip(`${title} — skipped: ${why}`, fn)
}

/** Why an in-process ring-only check cannot run here, or undefined on io_uring. */
export const notOnRing =
  runtime().backend === 'io_uring' ? undefined : `this process is on the ${runtime().backend} backend, not io_uring`

/** Whether a command is on PATH. */
export const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0
