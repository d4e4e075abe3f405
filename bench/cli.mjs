// The command line of bench/run.mjs: its options, --help (the comment at the top of the file
// `helpFile` names), and the settings, workloads and contenders they select.
import fs from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { workloads, byName } from './workloads/index.mjs'
import { straceAvailable } from './external.mjs'
import { log, MiB, GiB, KiB } from './util.mjs'
import { CONTENDERS, CONTENDER_ORDER } from './contenders.mjs'

const SEED = 0x2545f491

/** Parses process.argv; prints the help or an error and exits where the old top level did. */
export function parseCli(helpFile) {
  const { values: args } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      node: { type: 'string' },
      contenders: { type: 'string' },
      seconds: { type: 'string' },
      strace: { type: 'boolean' },
      'no-strace': { type: 'boolean' },
      'no-build': { type: 'boolean', default: false },
      'data-dir': { type: 'string' },
      'allow-tmpfs': { type: 'boolean', default: false },
      rounds: { type: 'string' },
      compare: { type: 'string' },
      rows: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false }
    }
  })

  if (args.help) {
    console.log(
      fs
        .readFileSync(helpFile, 'utf8')
        .split('\n')
        .slice(1, 16)
        .map((l) => l.replace(/^\/\/ ?/, ''))
        .join('\n')
    )
    process.exit(0)
  }

  const quick = args.quick
  const opts = {
    quick,
    seed: SEED,
    bigSize: quick ? 256 * MiB : 1 * GiB,
    writeSize: quick ? 128 * MiB : 1 * GiB,
    treeFiles: quick ? 2000 : 10000,
    treeDirs: 100,
    treeQd: 64,
    qds: [1, 16, 64, 256],
    block: 4 * KiB,
    seqBlock: 128 * KiB,
    seconds: args.seconds ? Number(args.seconds) : quick ? 0.5 : 3,
    rounds: args.rounds ? Number(args.rounds) : quick ? 1 : 3,
    warmup: quick ? 0.15 : 0.5,
    straceSeconds: quick ? 0.25 : 0.5
  }
  if (!Number.isInteger(opts.rounds) || opts.rounds < 1) {
    log(`--rounds must be a positive integer (got ${args.rounds})`)
    process.exit(2)
  }
  // `startup` (bench/startup.mjs) is not a workload of the contenders: it times whole Node
  // processes with and without the drop-in flag, and runs first.
  const requested = args.only
    ? args.only.split(',').map((s) => s.trim())
    : ['startup', 'rm', ...workloads.map((w) => w.name)]
  const wantStartup = requested.includes('startup')
  const wantRm = requested.includes('rm')
  const selected = requested.filter((n) => n !== 'startup' && n !== 'rm')
  for (const name of selected) {
    if (!byName[name]) {
      log(`unknown workload "${name}"; known: startup, rm, ${workloads.map((w) => w.name).join(', ')}`)
      process.exit(2)
    }
  }
  // Opt-in contenders (variants for a same-run baseline) run only when named.
  const wanted = args.contenders
    ? args.contenders.split(',').map((s) => s.trim())
    : CONTENDER_ORDER.filter((c) => !CONTENDERS[c].optIn)
  for (const c of wanted) {
    if (!CONTENDERS[c]) {
      log(`unknown contender "${c}"; known: ${CONTENDER_ORDER.join(', ')}`)
      process.exit(2)
    }
  }
  const selectedContenders = CONTENDER_ORDER.filter((c) => wanted.includes(c))
  /** `--rows`: substrings of configuration labels; a configuration runs when its label contains one. */
  const rowFilter = args.rows
    ? args.rows
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : null
  const nodeBin = args.node ? path.resolve(args.node) : process.execPath
  const useStrace = (args['no-strace'] ? false : (args.strace ?? !quick)) && straceAvailable()
  return { args, quick, opts, wantStartup, wantRm, selected, selectedContenders, rowFilter, nodeBin, useStrace }
}
