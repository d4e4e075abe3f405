/**
 * Which path each `boros/fs` function and `FileHandle` method takes on this thread: the
 * io_uring opcodes it submits, or `node:fs` where the kernel has no opcode for the call (or
 * is too old for it). `runtime().paths` shows this table; docs/fs.md has the same one with
 * the kernel each opcode needs.
 * Not part of the public API.
 * @module
 */
import { ring, usesRing } from '../binding.js'

let supported: ReadonlySet<string> | undefined

/**
 * Whether this thread's ring has the io_uring op `name` (as `runtime().ops` names it) and it
 * is not turned off with `BOROS_DISABLE_OPS` (comma-separated op names, e.g.
 * `ftruncate,renameat`): the calls that would use it take their node:fs path instead. This is
 * how the paths taken on older kernels are tested, and a way around a misbehaving opcode.
 */
export function hasOp(name: string): boolean {
  if (!usesRing()) return false
  if (supported === undefined) {
    const off = new Set((process.env.BOROS_DISABLE_OPS ?? '').split(',').map((s) => s.trim()))
    supported = new Set(
      ring()
        .ringInfo()
        .ops.filter((op) => !off.has(op))
    )
  }
  return supported.has(name)
}

const NO_OPCODE = 'node:fs (no io_uring opcode)'

/** The path of every function and method, for this thread's backend and kernel. */
export function fsPaths(): Record<string, string> {
  const uring = usesRing()
  const io = (ops: string, needs: string[] = [], otherwise = 'node:fs'): string =>
    !uring ? 'node:fs/promises (fallback backend)' : needs.every(hasOp) ? `io_uring: ${ops}` : otherwise
  const ftruncate = hasOp('ftruncate') ? 'ftruncate' : 'node:fs ftruncate (io_uring ftruncate needs Linux 6.9)'
  const node = (why = NO_OPCODE): string => (uring ? why : 'node:fs/promises (fallback backend)')
  return {
    open: io('openat', ['openat']),
    readFile: io(
      'small: openat (direct) + read + read (EOF) linked, one trip, then close; larger: the same, then statx + reads until EOF on that descriptor',
      ['openat', 'read', 'close']
    ),
    writeFile: io('openat + write (until every byte) + close; fsync with flush', ['openat', 'write', 'close']),
    appendFile: io('openat(O_APPEND) + write + close', ['openat', 'write', 'close']),
    copyFile: io(
      `openat x2 + statx x2 + ${ftruncate} + read/write loop (1 MiB) + close x2; fchmod via node:fs; COPYFILE_FICLONE* via node:fs`,
      ['openat', 'statx', 'read', 'write', 'close']
    ),
    stat: io('statx (bigint: node:fs)', ['statx']),
    lstat: io('statx(AT_SYMLINK_NOFOLLOW) (bigint: node:fs)', ['statx']),
    access: node(),
    truncate: io(`openat + ${ftruncate} + close`, ['openat', 'close']),
    unlink: io('unlinkat', ['unlinkat'], 'node:fs (io_uring unlinkat needs Linux 5.11)'),
    rm: io(
      'statx + unlinkat; directories: readdir via node:fs, unlinkat for each entry, unlinkat(AT_REMOVEDIR); maxRetries: node:fs',
      ['statx', 'unlinkat']
    ),
    rmdir: io('unlinkat(AT_REMOVEDIR) (recursive: node:fs)', ['unlinkat']),
    mkdir: io('mkdirat (recursive: mkdirat per missing level + statx)', ['mkdirat', 'statx']),
    mkdtemp: node(),
    mkdtempDisposable: node('node:fs/promises mkdtempDisposable (Node 24.4+; no io_uring opcode)'),
    rename: io('renameat', ['renameat'], 'node:fs (io_uring renameat needs Linux 5.11)'),
    link: io('linkat', ['linkat'], 'node:fs (io_uring linkat needs Linux 5.15)'),
    symlink: io('symlinkat', ['symlinkat'], 'node:fs (io_uring symlinkat needs Linux 5.15)'),
    readlink: node(),
    realpath: node(),
    readdir: node(),
    opendir: node(),
    chmod: node(),
    lchmod: node('node:fs/promises lchmod (which Node implements only on macOS)'),
    chown: node(),
    lchown: node(),
    utimes: node(),
    lutimes: node(),
    cp: node('node:fs (composite: node:fs/promises cp)'),
    statfs: node(),
    watch: node('node:fs (inotify, not a file operation)'),
    glob: node('node:fs/promises glob (Node 22+; directory walking, no io_uring opcode)'),
    'FileHandle.read': io('read', ['read']),
    'FileHandle.readv': io('read, one per buffer, in order', ['read']),
    'FileHandle.write': io('write', ['write']),
    'FileHandle.writev': io('writev', ['writev']),
    'FileHandle.readFile': io('statx + read (until EOF)', ['statx', 'read']),
    'FileHandle.writeFile': io('write (until every byte)', ['write']),
    'FileHandle.appendFile': io('write (until every byte)', ['write']),
    'FileHandle.stat': io('statx(AT_EMPTY_PATH) (bigint: node:fs)', ['statx']),
    'FileHandle.truncate': uring ? (hasOp('ftruncate') ? 'io_uring: ftruncate' : `${ftruncate}`) : node(),
    'FileHandle.sync': io('fsync', ['fsync']),
    'FileHandle.datasync': io('fsync(DATASYNC)', ['fsync']),
    'FileHandle.chmod': node('node:fs fchmod (no io_uring opcode)'),
    'FileHandle.chown': node('node:fs fchown (no io_uring opcode)'),
    'FileHandle.utimes': node('node:fs futimes (no io_uring opcode)'),
    'FileHandle.close': io('close', ['close'])
  }
}
