// `node --import boros/register app.js`: node:fs/promises, fs.promises and 'fs/promises' resolve to
// boros/fs for the whole application (see src-ts/register.ts and the README's "Drop-in mode").
import { createRequire } from 'node:module'

createRequire(import.meta.url)('../dist/register.js').install()
