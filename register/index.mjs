// The flag's ES module entry as a path (`node --import ./node_modules/boros/register/index.mjs`):
// `boros/register` itself resolves to dist/register.mjs (one bundled file; scripts/bundle-register.mjs).
import '../dist/register.mjs'
