'use strict'
// `node --require boros/register app.js`: the same swap as `--import boros/register`.
require('../dist/register.js').install()
