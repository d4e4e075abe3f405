/**
 * `boros/fs/callback`: `node:fs`'s callback API on io_uring, on plain descriptors (numbers).
 *
 * `open`, `close`, `read`, `readv`, `write`, `writev`, `readFile`, `writeFile`, `appendFile`,
 * `stat`, `lstat`, `fstat`, `fsync`, `fdatasync`, `ftruncate`, `rename`, `unlink` and `mkdir`
 * go through this thread's ring when their arguments have one of the common valid shapes;
 * any other shape is handed to `node:fs`'s own function, so argument errors (codes, messages,
 * thrown synchronously) are Node's. Every other name is `node:fs`'s own. A descriptor from
 * here works with `node:fs` and the other way round. With `BOROS_BACKEND=fallback` every
 * function is `node:fs`'s. See docs/fs-callback.md.
 *
 * ```js
 * import fs from 'boros/fs/callback'
 * fs.open('data.bin', 'r', (err, fd) => {
 *   fs.read(fd, Buffer.alloc(4096), 0, 4096, 0, (err, n, buf) => fs.close(fd, () => {}))
 * })
 * ```
 * @module
 */
import type * as fs from 'node:fs'
import { nodeFs } from '../node-fs.js'
import * as ring from './ring-callbacks.js'

type Fs = typeof fs
const node = nodeFs as unknown as Record<string, unknown>

/**
 * A ring function with the name, length and own symbol properties (`util.promisify`'s
 * custom behaviour: `promisify(fs.read)` resolves `{ bytesRead, buffer }`) of Node's.
 */
function like<K extends keyof Fs>(name: K, fn: (...args: any[]) => void): Fs[K] {
  const original = node[name] as object
  for (const sym of Object.getOwnPropertySymbols(original)) {
    Object.defineProperty(fn, sym, Object.getOwnPropertyDescriptor(original, sym)!)
  }
  Object.defineProperty(fn, 'length', { value: (original as (...a: unknown[]) => void).length })
  return fn as unknown as Fs[K]
}

export const open = like('open', ring.open)
export const close = like('close', ring.close)
export const read = like('read', ring.read)
export const readv = like('readv', ring.readv)
export const write = like('write', ring.write)
export const writev = like('writev', ring.writev)
export const readFile = like('readFile', ring.readFile)
export const writeFile = like('writeFile', ring.writeFile)
export const appendFile = like('appendFile', ring.appendFile)
export const stat = like('stat', ring.stat)
export const lstat = like('lstat', ring.lstat)
export const fstat = like('fstat', ring.fstat)
export const fsync = like('fsync', ring.fsync)
export const fdatasync = like('fdatasync', ring.fdatasync)
export const ftruncate = like('ftruncate', ring.ftruncate)
export const rename = like('rename', ring.rename)
export const unlink = like('unlink', ring.unlink)
export const mkdir = like('mkdir', ring.mkdir)

// node:fs's own (no io_uring path; or not a file operation). Names the running Node lacks are undefined.
export const Dir: Fs extends { Dir: infer T } ? T : unknown = node.Dir as never
export const Dirent: Fs extends { Dirent: infer T } ? T : unknown = node.Dirent as never
// The value of Node's (deprecated, DEP0176 on Node 26: reading fs.F_OK warns) from fs.constants.
export const F_OK: Fs extends { F_OK: infer T } ? T : unknown = nodeFs.constants.F_OK as never
export const FileReadStream: Fs extends { FileReadStream: infer T } ? T : unknown = node.FileReadStream as never
export const FileWriteStream: Fs extends { FileWriteStream: infer T } ? T : unknown = node.FileWriteStream as never
// The value of Node's (deprecated, DEP0176 on Node 26: reading fs.R_OK warns) from fs.constants.
export const R_OK: Fs extends { R_OK: infer T } ? T : unknown = nodeFs.constants.R_OK as never
export const ReadStream: Fs extends { ReadStream: infer T } ? T : unknown = node.ReadStream as never
export const Stats: Fs extends { Stats: infer T } ? T : unknown = node.Stats as never
export const Utf8Stream: Fs extends { Utf8Stream: infer T } ? T : unknown = node.Utf8Stream as never
// The value of Node's (deprecated, DEP0176 on Node 26: reading fs.W_OK warns) from fs.constants.
export const W_OK: Fs extends { W_OK: infer T } ? T : unknown = nodeFs.constants.W_OK as never
export const WriteStream: Fs extends { WriteStream: infer T } ? T : unknown = node.WriteStream as never
// The value of Node's (deprecated, DEP0176 on Node 26: reading fs.X_OK warns) from fs.constants.
export const X_OK: Fs extends { X_OK: infer T } ? T : unknown = nodeFs.constants.X_OK as never
export const access: Fs extends { access: infer T } ? T : unknown = node.access as never
export const accessSync: Fs extends { accessSync: infer T } ? T : unknown = node.accessSync as never
export const appendFileSync: Fs extends { appendFileSync: infer T } ? T : unknown = node.appendFileSync as never
export const chmod: Fs extends { chmod: infer T } ? T : unknown = node.chmod as never
export const chmodSync: Fs extends { chmodSync: infer T } ? T : unknown = node.chmodSync as never
export const chown: Fs extends { chown: infer T } ? T : unknown = node.chown as never
export const chownSync: Fs extends { chownSync: infer T } ? T : unknown = node.chownSync as never
export const closeSync: Fs extends { closeSync: infer T } ? T : unknown = node.closeSync as never
export const constants: Fs extends { constants: infer T } ? T : unknown = node.constants as never
export const copyFile: Fs extends { copyFile: infer T } ? T : unknown = node.copyFile as never
export const copyFileSync: Fs extends { copyFileSync: infer T } ? T : unknown = node.copyFileSync as never
export const cp: Fs extends { cp: infer T } ? T : unknown = node.cp as never
export const cpSync: Fs extends { cpSync: infer T } ? T : unknown = node.cpSync as never
export const createReadStream: Fs extends { createReadStream: infer T } ? T : unknown = node.createReadStream as never
export const createWriteStream: Fs extends { createWriteStream: infer T } ? T : unknown =
  node.createWriteStream as never
export const exists: Fs extends { exists: infer T } ? T : unknown = node.exists as never
export const existsSync: Fs extends { existsSync: infer T } ? T : unknown = node.existsSync as never
export const fchmod: Fs extends { fchmod: infer T } ? T : unknown = node.fchmod as never
export const fchmodSync: Fs extends { fchmodSync: infer T } ? T : unknown = node.fchmodSync as never
export const fchown: Fs extends { fchown: infer T } ? T : unknown = node.fchown as never
export const fchownSync: Fs extends { fchownSync: infer T } ? T : unknown = node.fchownSync as never
export const fdatasyncSync: Fs extends { fdatasyncSync: infer T } ? T : unknown = node.fdatasyncSync as never
export const fstatSync: Fs extends { fstatSync: infer T } ? T : unknown = node.fstatSync as never
export const fsyncSync: Fs extends { fsyncSync: infer T } ? T : unknown = node.fsyncSync as never
export const ftruncateSync: Fs extends { ftruncateSync: infer T } ? T : unknown = node.ftruncateSync as never
export const futimes: Fs extends { futimes: infer T } ? T : unknown = node.futimes as never
export const futimesSync: Fs extends { futimesSync: infer T } ? T : unknown = node.futimesSync as never
export const glob: Fs extends { glob: infer T } ? T : unknown = node.glob as never
export const globSync: Fs extends { globSync: infer T } ? T : unknown = node.globSync as never
export const lchmod: Fs extends { lchmod: infer T } ? T : unknown = node.lchmod as never
export const lchmodSync: Fs extends { lchmodSync: infer T } ? T : unknown = node.lchmodSync as never
export const lchown: Fs extends { lchown: infer T } ? T : unknown = node.lchown as never
export const lchownSync: Fs extends { lchownSync: infer T } ? T : unknown = node.lchownSync as never
export const link: Fs extends { link: infer T } ? T : unknown = node.link as never
export const linkSync: Fs extends { linkSync: infer T } ? T : unknown = node.linkSync as never
export const lstatSync: Fs extends { lstatSync: infer T } ? T : unknown = node.lstatSync as never
export const lutimes: Fs extends { lutimes: infer T } ? T : unknown = node.lutimes as never
export const lutimesSync: Fs extends { lutimesSync: infer T } ? T : unknown = node.lutimesSync as never
export const mkdirSync: Fs extends { mkdirSync: infer T } ? T : unknown = node.mkdirSync as never
export const mkdtemp: Fs extends { mkdtemp: infer T } ? T : unknown = node.mkdtemp as never
export const mkdtempDisposableSync: Fs extends { mkdtempDisposableSync: infer T } ? T : unknown =
  node.mkdtempDisposableSync as never
export const mkdtempSync: Fs extends { mkdtempSync: infer T } ? T : unknown = node.mkdtempSync as never
export const openAsBlob: Fs extends { openAsBlob: infer T } ? T : unknown = node.openAsBlob as never
export const openAsBlobSync: Fs extends { openAsBlobSync: infer T } ? T : unknown = node.openAsBlobSync as never
export const openSync: Fs extends { openSync: infer T } ? T : unknown = node.openSync as never
export const opendir: Fs extends { opendir: infer T } ? T : unknown = node.opendir as never
export const opendirSync: Fs extends { opendirSync: infer T } ? T : unknown = node.opendirSync as never
export const promises: Fs extends { promises: infer T } ? T : unknown = node.promises as never
export const readFileSync: Fs extends { readFileSync: infer T } ? T : unknown = node.readFileSync as never
export const readSync: Fs extends { readSync: infer T } ? T : unknown = node.readSync as never
export const readdir: Fs extends { readdir: infer T } ? T : unknown = node.readdir as never
export const readdirSync: Fs extends { readdirSync: infer T } ? T : unknown = node.readdirSync as never
export const readlink: Fs extends { readlink: infer T } ? T : unknown = node.readlink as never
export const readlinkSync: Fs extends { readlinkSync: infer T } ? T : unknown = node.readlinkSync as never
export const readvSync: Fs extends { readvSync: infer T } ? T : unknown = node.readvSync as never
export const realpath: Fs extends { realpath: infer T } ? T : unknown = node.realpath as never
export const realpathSync: Fs extends { realpathSync: infer T } ? T : unknown = node.realpathSync as never
export const renameSync: Fs extends { renameSync: infer T } ? T : unknown = node.renameSync as never
export const rm: Fs extends { rm: infer T } ? T : unknown = node.rm as never
export const rmSync: Fs extends { rmSync: infer T } ? T : unknown = node.rmSync as never
export const rmdir: Fs extends { rmdir: infer T } ? T : unknown = node.rmdir as never
export const rmdirSync: Fs extends { rmdirSync: infer T } ? T : unknown = node.rmdirSync as never
export const statSync: Fs extends { statSync: infer T } ? T : unknown = node.statSync as never
export const statfs: Fs extends { statfs: infer T } ? T : unknown = node.statfs as never
export const statfsSync: Fs extends { statfsSync: infer T } ? T : unknown = node.statfsSync as never
export const symlink: Fs extends { symlink: infer T } ? T : unknown = node.symlink as never
export const symlinkSync: Fs extends { symlinkSync: infer T } ? T : unknown = node.symlinkSync as never
export const truncate: Fs extends { truncate: infer T } ? T : unknown = node.truncate as never
export const truncateSync: Fs extends { truncateSync: infer T } ? T : unknown = node.truncateSync as never
export const unlinkSync: Fs extends { unlinkSync: infer T } ? T : unknown = node.unlinkSync as never
export const unwatchFile: Fs extends { unwatchFile: infer T } ? T : unknown = node.unwatchFile as never
export const utimes: Fs extends { utimes: infer T } ? T : unknown = node.utimes as never
export const utimesSync: Fs extends { utimesSync: infer T } ? T : unknown = node.utimesSync as never
export const watch: Fs extends { watch: infer T } ? T : unknown = node.watch as never
export const watchFile: Fs extends { watchFile: infer T } ? T : unknown = node.watchFile as never
export const writeFileSync: Fs extends { writeFileSync: infer T } ? T : unknown = node.writeFileSync as never
export const writeSync: Fs extends { writeSync: infer T } ? T : unknown = node.writeSync as never
export const writevSync: Fs extends { writevSync: infer T } ? T : unknown = node.writevSync as never

/** The names served on the ring (the rest are node:fs's own). */
export const ringFunctions: readonly string[] = ring.RING_FUNCTIONS
