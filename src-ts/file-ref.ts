/**
 * How an operation names its file. A descriptor and a slot of the ring's registered file table
 * (a "direct descriptor") are different types, from a `FileHandle` through the native binding
 * to the SQE (`types::Fd` / `types::Fixed` in io-uring): a slot is never passed where a
 * descriptor is expected, so no call can reach an unrelated file that happens to have that
 * number. Code that needs a descriptor asks for an {@link Fd}; for a {@link Fixed} file it
 * installs one for the call (`FileHandle`'s `#withDescriptor`).
 * Not part of the public API.
 * @module
 */
import { FILE_KIND_FD, FILE_KIND_FIXED } from './wire.js'

/** A descriptor in the process's file table. */
export interface Fd {
  readonly kind: typeof FILE_KIND_FD
  readonly fd: number
}

/** A slot of this thread's ring's registered file table: not a descriptor. */
export interface Fixed {
  readonly kind: typeof FILE_KIND_FIXED
  readonly slot: number
}

/** A file an operation acts on. */
export type FileRef = Fd | Fixed

/** Names descriptor `fd`. */
export function fdRef(fd: number): Fd {
  return Object.freeze({ kind: FILE_KIND_FD, fd })
}

/** Names registered-file slot `slot`. */
export function fixedRef(slot: number): Fixed {
  return Object.freeze({ kind: FILE_KIND_FIXED, slot })
}

/** The number the binding takes next to `file.kind`. */
export function fileNumber(file: FileRef): number {
  return file.kind === FILE_KIND_FD ? file.fd : file.slot
}
