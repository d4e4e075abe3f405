/**
 * The ring's listening socket: a `Listener` keeps a multishot accept armed and hands each
 * accepted descriptor to `onConnection`. `boros/net`'s `Server` and `listen()` are built on
 * it; the connections it accepts become a `Connection` (net/connection.ts).
 * @module
 */
import { unlinkSync } from 'node:fs'
import { closeStream, NO_KEY, openStream, ring } from '../binding.js'
import { ECANCELED, EINVAL, EMFILE, ENFILE } from '../errno.js'
import { EVENT_REARM } from '../wire.js'
import { CUT_PATH_UNLINKED_AT_CLOSE } from '../node-facts.js'
import { unixName } from './args.js'
import { closeFd } from './connection.js'
import { counters } from './counters.js'
import { netErrno, withHostPort } from './net-errors.js'

/** Callbacks of a {@link Listener}. */
export interface ListenerEvents {
  /** A new connection's descriptor. */
  onConnection: (fd: number) => void
  /** Accepting failed (the listener goes on accepting). */
  onError?: (err: Error) => void
}

/** Where and how to listen. */
export type ListenAddress =
  | { readonly host: string; readonly port: number; readonly ipv6Only?: boolean; readonly reusePort?: boolean }
  | { readonly path: string }

/**
 * A listening socket with a multishot accept armed: every connection the kernel accepts is
 * an `onConnection(fd)`, in the batch it arrived with.
 */
export class Listener {
  /** The listening socket (-1 once closed). */
  fd: number
  events: ListenerEvents
  #stream: number
  #key = NO_KEY
  #referenced = true
  #closed = false
  #path: string | undefined
  #abstract = false
  #afterAccept: (() => void) | undefined
  #retry: NodeJS.Timeout | undefined

  /**
   * Listens (synchronously: socket, bind, listen) and starts accepting. Throws Node's error
   * (`listen EADDRINUSE: address already in use 127.0.0.1:80`, with `address` and `port`).
   */
  constructor(address: ListenAddress, backlog: number, events: ListenerEvents) {
    const b = ring()
    // A Unix path longer than sun_path: refused on Node 23+, its first 108 bytes bound on Node
    // 20 and 22 (args.ts unixName). At close libuv 1.48+ (Node 22) unlinks that bound name;
    // Node 20's libuv keeps the whole path to unlink (it is not the bound name, so the socket
    // file stays) (node-facts.ts CUT_PATH_UNLINKED_AT_CLOSE).
    const name = 'path' in address ? unixName(address.path) : undefined
    if ('path' in address && name === undefined) throw withHostPort(EINVAL, 'listen', address.path, -1, true)
    const r =
      'path' in address
        ? b.unixListen(name as string, backlog)
        : b.tcpListen(address.host, address.port, backlog, address.ipv6Only ?? false, address.reusePort ?? false)
    if (r.fd < 0) {
      // libuv reports a failed bind when it listens: node:net says 'listen' for both.
      const syscall = r.syscall === 'bind' ? 'listen' : r.syscall
      if ('path' in address) throw withHostPort(r.errno, syscall, address.path, -1, true)
      throw withHostPort(r.errno, syscall, address.host, address.port, true)
    }
    this.fd = r.fd
    this.events = events
    if ('path' in address && !address.path.startsWith('\0')) {
      this.#path = CUT_PATH_UNLINKED_AT_CLOSE ? (name as string) : address.path
    } else if ('path' in address) this.#abstract = true
    counters.listeners++
    this.#stream = openStream(this.#onEvent)
    this.#arm()
  }

  #arm(): void {
    const b = ring()
    this.#key = b.acceptStart(this.fd, this.#stream)
    if (!this.#referenced) b.setOpRef(this.#key, false)
  }

  #onEvent = (result: number): void => {
    if (result >= 0) {
      // A connection accepted as the listener closed: nobody will serve it.
      if (this.fd < 0) closeFd(result)
      else this.events.onConnection(result)
      return
    }
    this.#key = NO_KEY
    if (this.fd < 0) {
      closeStream(this.#stream)
      this.#afterAccept?.()
      return
    }
    if (result === EVENT_REARM) {
      this.#arm()
      return
    }
    if (result === ECANCELED) return
    // Out of descriptors: libuv says nothing (it drops the connection with a reserved
    // descriptor); here the connections wait in the backlog until descriptors are free.
    if (result !== EMFILE && result !== ENFILE) this.events.onError?.(netErrno(result, 'accept'))
    // Go on accepting, as libuv does, after a pause (an accept that fails at once would
    // otherwise spin).
    this.#retry = setTimeout(() => {
      this.#retry = undefined
      if (this.fd >= 0) this.#arm()
    }, 10)
    if (!this.#referenced) this.#retry.unref()
  }

  /** Whether the armed accept keeps the process alive (`server.ref()`/`unref()`). */
  setReferenced(on: boolean): void {
    if (this.#referenced === on) return
    this.#referenced = on
    if (this.#key >= 0) ring().setOpRef(this.#key, on)
    if (on) this.#retry?.ref()
    else this.#retry?.unref()
  }

  /** The bound address (the port the kernel picked for port 0). */
  address(): { family: string; address: string; port: number } | null {
    return this.fd < 0 ? null : ring().socketAddress(this.fd, false)
  }

  /**
   * Stops accepting and closes the socket; `then` once it is closed. The address is free at
   * once, as libuv's close frees it: a TCP socket stops listening now (the armed accept holds
   * the socket until its cancel completes, so the descriptor closes after that), a Unix
   * socket's path is removed now (as libuv does), and an abstract Unix name, which only the
   * socket's release frees, is let go by closing the socket now, its accept's cancel finished
   * first (`closeListenerNow`). A new server may listen on the same address in the same tick.
   */
  close(then?: () => void): void {
    if (this.#closed) {
      then?.()
      return
    }
    this.#closed = true
    counters.listeners--
    const fd = this.fd
    this.fd = -1
    clearTimeout(this.#retry)
    if (this.#abstract) {
      ring().closeListenerNow(fd, this.#key)
      // The accept's last event (the next reap) closes the stream id.
      if (this.#key >= 0) this.#afterAccept = () => then?.()
      else {
        closeStream(this.#stream)
        if (then !== undefined) process.nextTick(then)
      }
      return
    }
    if (this.#path !== undefined) {
      try {
        unlinkSync(this.#path)
      } catch {}
    } else ring().stopListening(fd)
    const finish = (): void => closeFd(fd, then)
    // Late connections of the cancelled accept still arrive (and are closed) until its last
    // event, which closes the stream id.
    if (this.#key >= 0) {
      this.#afterAccept = finish
      ring().cancel(this.#key)
    } else {
      closeStream(this.#stream)
      finish()
    }
  }
}
