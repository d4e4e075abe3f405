/**
 * The names of `node:fs` callback functions that boros/fs/callback serves on the ring (the rest
 * are Node's own). In a module of its own so that `boros/register` can install its lazy
 * stand-ins without loading the ring code.
 * Not part of the public API.
 * @module
 */
/** The names this module serves on the ring (the rest of `node:fs` is Node's own). */
export const RING_FUNCTIONS = [
  'open',
  'close',
  'read',
  'readv',
  'write',
  'writev',
  'readFile',
  'writeFile',
  'appendFile',
  'stat',
  'lstat',
  'fstat',
  'fsync',
  'fdatasync',
  'ftruncate',
  'rename',
  'unlink',
  'mkdir'
] as const
