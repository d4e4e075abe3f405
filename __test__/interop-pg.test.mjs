// pg against a real PostgreSQL, over boros sockets (pg's `stream` option) and over node:net:
// the same workload (1,000 queries, a 200-statement batch, a 1 MiB value, a transaction),
// results compared whole. The server comes from .ci/run (scripts/services.sh).
import pg from 'pg'
import { impl, services } from './helpers/interop.mjs'
import { unless } from './helpers/skip.mjs'

const BIG = 'x'.repeat(1 << 20).replace(/x/g, (_m, i) => String.fromCharCode(97 + ((i * 7) % 26)))

async function workload(client, table) {
  const out = []
  await client.query(`DROP TABLE IF EXISTS ${table}`)
  await client.query(`CREATE TABLE ${table} (id int PRIMARY KEY, name text, n bigint, data bytea)`)
  for (let i = 0; i < 1000; i++) {
    if (i % 2 === 0) {
      const r = await client.query(`INSERT INTO ${table} (id, name, n) VALUES ($1, $2, $3) RETURNING id, name, n`, [
        i,
        `row-${i}`,
        i * i
      ])
      out.push(r.rows)
    } else {
      const r = await client.query(`SELECT id, name, n, $2::int AS k FROM ${table} WHERE id = $1`, [i - 1, i])
      out.push(r.rows)
    }
  }
  // A batch: 200 statements in one simple-protocol message, 200 results back in one go.
  const batch = await client.query(
    Array.from({ length: 200 }, (_, i) => `SELECT count(*)::int AS c, ${i} AS i FROM ${table}`).join('; ')
  )
  out.push(batch.map((r) => r.rows[0]))
  // A 1 MiB value each way, as text and as bytea.
  const bytes = Buffer.from(BIG, 'latin1')
  await client.query(`UPDATE ${table} SET name = $1, data = $2 WHERE id = 0`, [BIG, bytes])
  const big = await client.query(`SELECT name, data, length(name) AS l FROM ${table} WHERE id = 0`)
  out.push(big.rows[0].name === BIG, big.rows[0].data.equals(bytes), big.rows[0].l)
  out.push((await client.query(`SELECT repeat('ab', 600000) AS r`)).rows[0].r.length)
  // A transaction with a rollback.
  await client.query('BEGIN')
  await client.query(`DELETE FROM ${table}`)
  out.push((await client.query(`SELECT count(*)::int AS c FROM ${table}`)).rows)
  await client.query('ROLLBACK')
  out.push((await client.query(`SELECT count(*)::int AS c, sum(n)::text AS s FROM ${table}`)).rows)
  // An error comes back as a query error and the connection goes on.
  out.push(
    await client.query('SELECT * FROM no_such_table').then(
      () => 'no error',
      (e) => e.code
    )
  )
  out.push((await client.query('SELECT 1 AS one')).rows)
  await client.query(`DROP TABLE ${table}`)
  return out
}

const title = `pg on ${impl.name}: 1,000 queries, a 200-statement batch, a 1 MiB value, a transaction, same results as node:net`
unless(services.pg ? undefined : services.pgWhy)(title, async (t) => {
  const viaNode = new pg.Client({ connectionString: services.pg })
  let borosStream = null
  const viaBoros = new pg.Client({
    connectionString: services.pg,
    stream: () => {
      borosStream = new impl.Socket()
      return borosStream
    }
  })
  await viaNode.connect()
  await viaBoros.connect()
  try {
    t.true(borosStream instanceof impl.Socket, 'the boros client talks over a boros socket')
    const a = await workload(viaNode, 't_node')
    const b = await workload(viaBoros, 't_boros')
    t.is(a.length, 1009)
    t.deepEqual(b, a)
    t.deepEqual(b.slice(1001, 1005), [true, true, 1 << 20, 1_200_000])
    t.is(b[1007], '42P01')
  } finally {
    await viaNode.end()
    await viaBoros.end()
  }
})
