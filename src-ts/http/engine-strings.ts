/**
 * The strings of a request record (target, header names and values), made from the batch's
 * bytes. Clients send the same short strings request after request (`Host: 127.0.0.1:8080`,
 * `Accept: text/html`, `/`): each short one is looked up in a small table by a hash of its length
 * and three of its bytes, and compared byte by byte with the string found there, which is
 * cheaper than a `latin1Slice` (a C++ call and a new string per request). A miss makes the
 * string and puts it in the table in place of whatever was in that slot.
 * @module
 */

/** Node's Buffer has `latin1Slice` (what `toString('latin1', …)` calls), untyped. */
export type Latin1 = Buffer & { latin1Slice(start: number, end: number): string }

/** Strings up to this length are looked up; longer ones are made every time. */
const MAX_LEN = 64
const SLOTS = 512

const table: Array<string | undefined> = new Array(SLOTS).fill(undefined)

/** `data[start, end)` as a latin1 string (node:http's decoding of a head). */
export function headString(data: Latin1, start: number, end: number): string {
  const n = end - start
  if (n === 0) return ''
  if (n > MAX_LEN) return data.latin1Slice(start, end)
  const h = (n * 31 + data[start]! * 7 + data[start + (n >> 1)]! * 3 + data[end - 1]!) & (SLOTS - 1)
  const s = table[h]
  if (s !== undefined && s.length === n) {
    let i = 0
    while (i < n && s.charCodeAt(i) === data[start + i]) i++
    if (i === n) return s
  }
  const made = data.latin1Slice(start, end)
  table[h] = made
  return made
}
