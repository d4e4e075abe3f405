/**
 * Open sockets and listeners of this thread on the ring (`stats().sockets`, `.listeners`).
 * @module
 */

/** Counts kept by `net/connection.ts`. */
export const counters = {
  /** Connected sockets open on the ring (accepted or connected). */
  sockets: 0,
  /** Listening sockets open on the ring. */
  listeners: 0,
  /** Connected sockets opened on the ring since the start (accepted or connected; never goes down). */
  opened: 0
}
