// Module resolve hook for Node releases without module.registerHooks (before 22.15 / 23.5):
// loaded by module.register() in the loader thread. ES module imports of node:fs/promises from
// anything but boros' own files resolve to fs-promises.mjs beside this file.
const ROOT = new URL('../', import.meta.url).href
const INTERNAL = [`${ROOT}dist/`, `${ROOT}register/`]
const FACADE = new URL('./fs-promises.mjs', import.meta.url).href
const SPECIFIERS = new Set(['fs/promises', 'node:fs/promises'])

export async function resolve(specifier, context, next) {
  const parent = context.parentURL
  if (SPECIFIERS.has(specifier) && !(typeof parent === 'string' && INTERNAL.some((u) => parent.startsWith(u)))) {
    return { url: FACADE, shortCircuit: true }
  }
  return next(specifier, context)
}
