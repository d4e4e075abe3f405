/**
 * Node's `getOptions` for the whole-file calls (`readFile`, `writeFile`, `appendFile`, on a path
 * or a handle): what options may be, checked first, before any argument that follows and before
 * anything touches the disk (lib/internal/fs/utils.js).
 * Not part of the public API.
 * @module
 */
import { invalidArgType, invalidArgValue } from '../errors.js'
import { ENCODING_ERROR_NAMES_THE_VALUE } from '../node-facts.js'

/** The options of a whole-file call, once checked. */
export interface FileOptions {
  readonly encoding?: BufferEncoding | 'buffer' | null
  readonly flag?: string | number
  readonly mode?: number | string
  readonly signal?: AbortSignal
  readonly flush?: boolean | null
}

/**
 * `options` as Node takes it: `null`, `undefined` or a function mean the defaults, a string is
 * the encoding, an object is taken as it is; anything else is `ERR_INVALID_ARG_TYPE`. Then the
 * encoding must be one Node knows (`ERR_INVALID_ARG_VALUE`) and the signal an AbortSignal.
 */
export function getOptions(options: unknown, defaults: FileOptions = {}): FileOptions {
  let opts: FileOptions
  if (options == null || typeof options === 'function') return defaults
  if (typeof options === 'string') opts = { ...defaults, encoding: options as BufferEncoding }
  else if (typeof options === 'object') opts = options as FileOptions
  else throw invalidArgType('options', 'one of type string or object', options)
  if (opts.encoding !== 'buffer' && opts.encoding && !Buffer.isEncoding(opts.encoding)) {
    throw ENCODING_ERROR_NAMES_THE_VALUE
      ? invalidArgValue(String(opts.encoding), 'encoding', 'is invalid encoding')
      : invalidArgValue('encoding', opts.encoding, 'is invalid encoding')
  }
  // Node's validateAbortSignal: `null` too is refused; anything with an `aborted` is taken.
  const signal = opts.signal as unknown
  if (signal !== undefined && (signal === null || typeof signal !== 'object' || !('aborted' in signal))) {
    throw invalidArgType('options.signal', 'an instance of AbortSignal', signal)
  }
  return opts
}

/** The encoding to decode or encode with (`'buffer'` and none: no decoding). */
export function encodingOf(opts: FileOptions): BufferEncoding | undefined {
  const e = opts.encoding
  return e && e !== 'buffer' ? e : undefined
}

/** Node's `validateBoolean(options.flush ?? false, 'options.flush')`. */
export function flushOf(opts: FileOptions): boolean {
  const flush = opts.flush ?? false
  if (typeof flush !== 'boolean') throw invalidArgType('options.flush', 'of type boolean', flush)
  return flush
}
