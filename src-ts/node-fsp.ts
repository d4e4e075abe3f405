/**
 * `node:fs/promises` as it was when boros loaded: a copy of the module's properties, taken once.
 * `boros/register` replaces the functions on Node's own `fs/promises` object (so that every way
 * of asking for it — `import`, `require`, `fs.promises`, `process.getBuiltinModule` — gets
 * boros/fs); boros itself must keep calling Node's own (boros/fs delegates to them, and on the
 * fallback backend is them), so every internal use of node:fs/promises goes through this copy.
 * Not part of the public API.
 * @module
 */
import fsp = require('node:fs/promises')

/** Where boros/register keeps its copy of Node's `fs/promises`, taken before it replaced any function. */
export const FSP_ORIGINALS = Symbol.for('boros.register.fspOriginals')

/** Node's own `node:fs/promises` functions (taken before anything could have replaced them). */
export const nodeFsp: typeof fsp = (globalThis as Record<symbol, typeof fsp | undefined>)[FSP_ORIGINALS] ?? { ...fsp }
