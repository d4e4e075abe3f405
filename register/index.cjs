'use strict'
// The flag's CommonJS entry as a path (`node --require ./node_modules/boros/register/index.cjs`):
// `boros/register` itself resolves to dist/register.cjs (one bundled file; scripts/bundle-register.mjs).
require('../dist/register.cjs')
