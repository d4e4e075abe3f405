// What `import ... from 'node:fs/promises'` resolves to under boros/register: Node's names,
// served by boros/fs (src-ts/register.ts builds the object; this module re-exports it).
import { createRequire } from 'node:module'

const fsp = createRequire(import.meta.url)('../dist/register.js').facade()

export default fsp
export const {
  access,
  appendFile,
  chmod,
  chown,
  constants,
  copyFile,
  cp,
  glob,
  lchmod,
  lchown,
  link,
  lstat,
  lutimes,
  mkdir,
  mkdtemp,
  mkdtempDisposable,
  open,
  opendir,
  readFile,
  readdir,
  readlink,
  realpath,
  rename,
  rm,
  rmdir,
  stat,
  statfs,
  symlink,
  truncate,
  unlink,
  utimes,
  watch,
  writeFile
} = fsp
