/**
 * What a `Conn` (net/conn.ts) runs on: a ring `Connection`, or a node:net socket on the
 * fallback backend. Both present the same small callback interface; `Conn` does the buffering.
 * @module
 */
import type * as nodeNet from 'node:net'
import { ring } from '../binding.js'
import { Connection, type WriteCallback } from './connection.js'

/** What a `Conn` runs on: a ring `Connection`, or a node:net socket (fallback). */
export interface Transport {
  onData: (chunk: Buffer) => void
  onEnd: () => void
  onError: (err: Error) => void
  resume(): void
  pause(): void
  writev(bufs: readonly Buffer[], cb: WriteCallback): void
  end(cb: WriteCallback): void
  close(then: () => void): void
  address(peer: boolean): { address: string; family: string; port: number } | null
  readonly bytesRead: number
  readonly bytesWritten: number
}

/** The transport's callbacks until its `Conn` sets them: one function for all. */
function noop(): void {}

export class RingTransport implements Transport {
  onData: (chunk: Buffer) => void = noop
  onEnd: () => void = noop
  onError: (err: Error) => void = noop
  readonly c: Connection
  constructor(fd: number) {
    // The transport is the connection's events object: the connection calls the callbacks
    // the `Conn` set here (no forwarding closures per connection: issue 21).
    this.c = new Connection(fd, this)
  }
  resume(): void {
    this.c.resume()
  }
  pause(): void {
    this.c.pause()
  }
  writev(bufs: readonly Buffer[], cb: WriteCallback): void {
    this.c.writev(bufs, cb)
  }
  end(cb: WriteCallback): void {
    this.c.end(cb)
  }
  close(then: () => void): void {
    this.c.close(then)
  }
  address(peer: boolean): { address: string; family: string; port: number } | null {
    if (this.c.fd < 0) return null
    return ring().socketAddress(this.c.fd, peer)
  }
  get bytesRead(): number {
    return this.c.bytesRead
  }
  get bytesWritten(): number {
    return this.c.bytesWritten
  }
}

export class NodeTransport implements Transport {
  onData = (_: Buffer): void => {}
  onEnd = (): void => {}
  onError = (_: Error): void => {}
  readonly s: nodeNet.Socket
  constructor(s: nodeNet.Socket) {
    this.s = s
    s.pause()
    s.on('data', (b: Buffer) => this.onData(b))
    s.on('end', () => this.onEnd())
    s.on('error', (e) => this.onError(e))
  }
  resume(): void {
    this.s.resume()
  }
  pause(): void {
    this.s.pause()
  }
  writev(bufs: readonly Buffer[], cb: WriteCallback): void {
    if (bufs.length === 0) {
      cb()
      return
    }
    this.s.cork()
    for (let i = 0; i < bufs.length - 1; i++) this.s.write(bufs[i]!)
    this.s.write(bufs[bufs.length - 1]!, cb)
    this.s.uncork()
  }
  end(cb: WriteCallback): void {
    this.s.end(() => cb())
  }
  close(then: () => void): void {
    if (this.s.destroyed) {
      then()
      return
    }
    this.s.once('close', () => then())
    this.s.destroy()
  }
  address(peer: boolean): { address: string; family: string; port: number } | null {
    const a = peer
      ? { address: this.s.remoteAddress, family: this.s.remoteFamily, port: this.s.remotePort }
      : (this.s.address() as nodeNet.AddressInfo)
    return a.address === undefined ? null : (a as { address: string; family: string; port: number })
  }
  get bytesRead(): number {
    return this.s.bytesRead
  }
  get bytesWritten(): number {
    return this.s.bytesWritten
  }
}
