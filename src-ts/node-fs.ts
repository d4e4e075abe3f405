/**
 * `node:fs` as it was when boros loaded: a copy of the module's properties, taken once. The
 * drop-in mode (`boros/register`, see register.ts) replaces `fs.read`, `fs.stat`... on Node's
 * module object with boros/fs/callback's; boros itself must keep calling Node's own (its
 * delegations would otherwise call themselves), so every internal use of node:fs's callback and
 * sync functions goes through this copy. When boros/register replaced functions before this
 * module loaded (it loads boros lazily), the originals it kept are used.
 * Not part of the public API.
 * @module
 */
import fs = require('node:fs')

/** Where boros/register keeps the `fs` functions it replaced (see register.ts). */
export const FS_ORIGINALS = Symbol.for('boros.register.fsOriginals')

const replaced = (globalThis as Record<symbol, Partial<typeof fs> | undefined>)[FS_ORIGINALS]

/**
 * Node's own `node:fs` functions (taken before anything could have replaced them). Copied with
 * their descriptors: Node's lazy getters (`promises`, `ReadStream`...) stay lazy.
 */
export const nodeFs: typeof fs = Object.assign(
  Object.defineProperties({}, Object.getOwnPropertyDescriptors(fs)) as typeof fs,
  replaced
)
