/**
 * Errno values as the ring reports them (negative), from `os.constants.errno`: the one place
 * the façade gets them, so no file carries a number of its own. Plus `IOV_MAX`, the kernel's
 * limit on buffers per vectored call (Linux: 1024; `os.constants` does not carry it).
 * @module
 */
import { constants } from 'node:os'

const { errno } = constants

export const EACCES = -errno.EACCES
export const EAGAIN = -errno.EAGAIN
export const EAFNOSUPPORT = -errno.EAFNOSUPPORT
export const ECANCELED = -errno.ECANCELED
export const ECONNREFUSED = -errno.ECONNREFUSED
export const ECONNRESET = -errno.ECONNRESET
export const EEXIST = -errno.EEXIST
export const EFAULT = -errno.EFAULT
export const EINPROGRESS = -errno.EINPROGRESS
export const EINVAL = -errno.EINVAL
export const EISDIR = -errno.EISDIR
export const EMFILE = -errno.EMFILE
export const ENFILE = -errno.ENFILE
export const ENOBUFS = -errno.ENOBUFS
export const ENOENT = -errno.ENOENT
export const ENOSPC = -errno.ENOSPC
export const ENOTCONN = -errno.ENOTCONN
export const ENOTDIR = -errno.ENOTDIR
export const ENOTSOCK = -errno.ENOTSOCK
export const EPERM = -errno.EPERM
export const ETIMEDOUT = -errno.ETIMEDOUT

/** EBADFD (77 on Linux; `os.constants` does not carry it): the kernel cannot poll this file. */
export const EBADFD = -77

/** Most buffers one `readv`/`writev` takes (Linux `IOV_MAX`); longer lists go in several. */
export const IOV_MAX = 1024
