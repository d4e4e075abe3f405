/**
 * `node:fs` as it was when boros loaded: a copy of the module's properties, taken once. The
 * opt-in drop-in mode (`BOROS_REGISTER_FS_CALLBACKS=1`, see register.ts) replaces `fs.read`,
 * `fs.stat`... on Node's module object with boros/fs/callback's; boros itself must keep
 * calling Node's own (its delegations would otherwise call themselves), so every internal use
 * of node:fs's callback and sync functions goes through this copy.
 * Not part of the public API.
 * @module
 */
import fs = require('node:fs')

/** Node's own `node:fs` functions (taken before anything could have replaced them). */
export const nodeFs: typeof fs = { ...fs }
