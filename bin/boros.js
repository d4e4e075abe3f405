#!/usr/bin/env node
// usage: boros doctor [--json] | boros --help | boros --version
'use strict'

const path = require('node:path')

const USAGE = `usage: boros <command>

commands:
  doctor [--json]   tell whether io_uring can be used here, and if not, why (exit 1 when not)

options:
  --help, -h        print this
  --version, -v     print the boros version`

function main(argv) {
  const [cmd, ...rest] = argv
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(USAGE + '\n')
    return cmd === undefined ? 2 : 0
  }
  if (cmd === '--version' || cmd === '-v') {
    process.stdout.write(require(path.join(__dirname, '..', 'package.json')).version + '\n')
    return 0
  }
  if (cmd === 'doctor') {
    let doctor
    try {
      doctor = require(path.join(__dirname, '..', 'dist', 'cli', 'doctor.js'))
    } catch (e) {
      process.stderr.write(
        `boros: cannot load the doctor (${String(e && e.message).split('\n')[0]}); in a checkout, run \`npm run build:ts\` first\n`
      )
      return 1
    }
    return doctor.main(rest)
  }
  process.stderr.write(`boros: unknown command ${JSON.stringify(cmd)}\n${USAGE}\n`)
  return 2
}

process.exitCode = main(process.argv.slice(2))
