// The workloads, in the order the suite runs them.
import randread from './randread.mjs'
import readfiles from './readfiles.mjs'
import seqread from './seqread.mjs'
import seqwrite from './seqwrite.mjs'
import statstorm from './statstorm.mjs'
import echo from './echo.mjs'
import http from './http.mjs'

export const workloads = [randread, readfiles, seqread, seqwrite, statstorm, echo, http]
export const byName = Object.fromEntries(workloads.map((w) => [w.name, w]))
