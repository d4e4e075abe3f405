/**
 * The wire protocol shared with the native binding: GENERATED from
 * `crates/boros-node/src/wire.rs` by `BOROS_BLESS=1 cargo test -p boros-node --lib`. Do not edit.
 * `cargo test` fails when this file is stale; the runtime checks `DIGEST` against the binary's at start-up.
 * @module
 */

export const PROTOCOL_VERSION = 4
export const QUEUE_CAPACITY = 1024
export const FAST_MAX = 16384
export const ARENA_SLOTS = 1024
export const ARENA_ALIGN = 4096
export const RESULT_PAIRS = 4096
export const CURRENT_POSITION = -1
export const BOUNCE_MAX = 1048576
export const CHUNK_MAX_BUFFER_SIZE = 16777216
export const CHUNK_MAX_BUFFERS = 32768
export const STAT_FIELDS = 18
export const ENTRY_FIELDS = 9
export const ENTRY_KIND = 0
export const ENTRY_FILE_KIND = 1
export const ENTRY_FILE = 2
export const ENTRY_OFFSET = 3
export const ENTRY_LENGTH = 4
export const ENTRY_POSITION = 5
export const ENTRY_TOKEN = 6
export const ENTRY_POOL = 7
export const ENTRY_POOL_INDEX = 8
export const CTL_QUEUED = 0
export const CTL_REFERENCED = 1
export const CTL_LEN = 4
export const FILE_KIND_FD = 0
export const FILE_KIND_FIXED = 1
export const ENTRY_READ = 0
export const ENTRY_WRITE = 1
export const ENTRY_POOL_READ = 2
export const ENTRY_POOL_WRITE = 3
export const EVENT_FIELDS = 4
export const EVENT_STREAM = 0
export const EVENT_RESULT = 1
export const EVENT_OFFSET = 2
export const EVENT_SEGMENT = 3
export const EVENT_CAPACITY = 4096
export const SUN_PATH_LEN = 108
export const HTTP_REC_REQUEST = 1
export const HTTP_REC_BODY = 2
export const HTTP_REC_BODY_END = 3
export const HTTP_REC_CLOSE = 4
export const HTTP_REC_DRAIN = 5
export const HTTP_REC_FILE_DONE = 6
export const HTTP_REQ_WORDS = 8
export const HTTP_REQ_V11 = 1
export const HTTP_REQ_KEEP_ALIVE = 2
export const HTTP_REQ_UPGRADE = 4
export const HTTP_REQ_EXPECT_CONTINUE = 8
export const HTTP_REQ_STREAMING = 16
export const HTTP_REQ_HAS_BODY = 32
export const HTTP_REQ_METHOD_SHIFT = 8
export const HTTP_ERR_NONE = 0
export const HTTP_ERR_HEADER_OVERFLOW = 1
export const HTTP_ERR_INVALID_METHOD = 2
export const HTTP_ERR_INVALID_URL = 3
export const HTTP_ERR_INVALID_VERSION = 4
export const HTTP_ERR_INVALID_HEADER_TOKEN = 5
export const HTTP_ERR_UNEXPECTED_CONTENT_LENGTH = 6
export const HTTP_ERR_INVALID_CONTENT_LENGTH = 7
export const HTTP_ERR_INVALID_TRANSFER_ENCODING = 8
export const HTTP_ERR_INVALID_CHUNK_SIZE = 9
export const HTTP_ERR_LF_EXPECTED = 10
export const HTTP_ERR_BODY_TOO_LARGE = 11
export const HTTP_ERR_REQUEST_TIMEOUT = 12
export const HTTP_ERR_ERRNO = 13
export const HTTP_ERR_INVALID_CONSTANT = 14
export const HTTP_ERR_CLOSED_CONNECTION = 15
export const HTTP_ERR_INVALID_EOF_STATE = 16
export const HTTP_ERR_ABORTED = 17
export const HTTP_ERR_CR_EXPECTED = 18
export const HTTP_ERR_CR_EXPECTED_CHUNK = 19
export const HTTP_ERR_STRICT_CHUNK_END = 20
export const HTTP_ERR_VERSION_LF = 21
export const HTTP_ERR_HEADER_FIELD_LF = 22
export const HTTP_RESPOND_NO_DATE = 1
export const HTTP_RESPOND_CLOSE = 2
export const HTTP_RESPOND_NO_FRAMING = 4
export const HTTP_RESPOND_KNOWN_LENGTH = 8
export const HTTP_H_CONTENT_LENGTH = 256
export const HTTP_H_TRANSFER_ENCODING = 512
export const HTTP_H_TE_CHUNKED = 1024
export const HTTP_H_DATE = 2048
export const HTTP_H_CONNECTION = 4096
export const HTTP_H_CONN_CLOSE = 8192
export const HTTP_RQ_CTL_WORDS = 4
export const HTTP_RQ_RECORDS = 1024
export const HTTP_RQ_SLAB = 262144
export const HTTP_RQ_QUEUED = 0
export const HTTP_RQ_USED = 1
export const HTTP_RQ_WORDS = 11
export const HTTP_RQ_SRV = 0
export const HTTP_RQ_CONN = 1
export const HTTP_RQ_SEQ = 2
export const HTTP_RQ_STATUS = 3
export const HTTP_RQ_FLAGS = 4
export const HTTP_RQ_BITS = 5
export const HTTP_RQ_HEAD = 6
export const HTTP_RQ_HEAD_OFF = 7
export const HTTP_RQ_HEAD_LEN = 8
export const HTTP_RQ_BODY_OFF = 9
export const HTTP_RQ_BODY_LEN = 10
export const HTTP_RQ_END = 1
export const HTTP_RQ_BODY = 2
export const HTTP_RQ_INLINE = 4
export const HTTP_RQ_HEADS_MAX = 256
export const HTTP_RQ_BODY_MAX = 16384
/** A stream event result: the multishot op ended with nothing wrong; arm it again. */
export const EVENT_REARM = -2147483648
/** A hash of every value here; the binary's must match. */
export const DIGEST = 683372646

/** How an op names its file: a descriptor or a registered-file slot. */
export type FileKind = typeof FILE_KIND_FD | typeof FILE_KIND_FIXED
/** What one shared-queue entry asks for. */
export type EntryKind = typeof ENTRY_READ | typeof ENTRY_WRITE | typeof ENTRY_POOL_READ | typeof ENTRY_POOL_WRITE

/** Fields of a stat record, in order. */
export const STAT_FIELD_NAMES = [
  'dev',
  'mode',
  'nlink',
  'uid',
  'gid',
  'rdev',
  'blksize',
  'ino',
  'size',
  'blocks',
  'atimeSec',
  'atimeNsec',
  'mtimeSec',
  'mtimeNsec',
  'ctimeSec',
  'ctimeNsec',
  'birthtimeSec',
  'birthtimeNsec'
] as const

/** Every error code the native side throws. */
export const nativeCodes = {
  /** The runtime of this thread was not set up (an internal call came too early). */
  NOT_INITIALIZED: 'ERR_BOROS_NOT_INITIALIZED',
  /** The handle, stream, pool or runtime was closed (or is shutting down). */
  CLOSED: 'ERR_BOROS_CLOSED',
  /** io_uring could not be set up here; the message says why. */
  IO_URING_UNAVAILABLE: 'ERR_BOROS_IO_URING_UNAVAILABLE',
  /** The kernel lacks an io_uring operation; the message names it and the kernel it needs. */
  UNSUPPORTED_OP: 'ERR_BOROS_UNSUPPORTED_OP',
  /** The JS runtime lacks what the call needs (libuv symbols, external buffers). */
  UNSUPPORTED_RUNTIME: 'ERR_BOROS_UNSUPPORTED_RUNTIME',
  /** io_uring_enter (or a registration) failed; the message has the errno. */
  SUBMIT_FAILED: 'ERR_BOROS_SUBMIT',
  /** An argument has the wrong type (Node's code). */
  INVALID_ARG_TYPE: 'ERR_INVALID_ARG_TYPE',
  /** An argument has a value the call refuses (Node's code). */
  INVALID_ARG_VALUE: 'ERR_INVALID_ARG_VALUE',
  /** A number is out of range (Node's code). */
  OUT_OF_RANGE: 'ERR_OUT_OF_RANGE'
} as const
