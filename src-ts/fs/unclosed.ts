/**
 * `FileHandle`s collected without `close()`: their file is closed then, with Node's warnings.
 * @module
 */
import { submit } from '../submit.js'
import { codedError } from '../errors.js'
import { fileNumber, type FileRef } from '../file-ref.js'
import { GC_CLOSE_THROWS } from '../node-facts.js'
import { nodeFs } from '../node-fs.js'
import { FILE_KIND_FD } from '../wire.js'

/**
 * Handles collected without `close()`: like Node, their file is closed then, with Node's two
 * warnings (the second a `DEP0137` deprecation). Holds the file, never the handle.
 */
let warnedDep0137 = false
export const unclosed = new FinalizationRegistry<FileRef>((file) => {
  const n = fileNumber(file)
  if (GC_CLOSE_THROWS) {
    // Node 26: no warnings; the file is closed and an uncaught ERR_INVALID_STATE names it.
    let where = ''
    if (file.kind === FILE_KIND_FD) {
      try {
        where = ` (${nodeFs.readlinkSync(`/proc/self/fd/${n}`)})`
      } catch {}
    }
    close(file, n)
    throw codedError(
      Error,
      'ERR_INVALID_STATE',
      `A FileHandle object was closed during garbage collection. This used to be allowed with a deprecation warning but is now considered an error. Please close FileHandle objects explicitly. File descriptor: ${n}${where}`
    )
  }
  process.emitWarning(`Closing file descriptor ${n} on garbage collection`)
  // Node warns DEP0137 once per thread (env->filehandle_close_warning()), the first line per handle.
  if (!warnedDep0137) {
    warnedDep0137 = true
    process.emitWarning(
      'Closing a FileHandle object on garbage collection is deprecated. Please close FileHandle objects explicitly using FileHandle.prototype.close(). In the future, an error will be thrown if a file descriptor is closed during garbage collection.',
      'DeprecationWarning',
      'DEP0137'
    )
  }
  close(file, n)
})

function close(file: FileRef, n: number): void {
  try {
    submit(
      (b, t) => b.close(file.kind, n, t),
      () => undefined
    ).catch(() => undefined)
  } catch {
    // The runtime of this thread is gone (worker exit): so is its file table.
  }
}
