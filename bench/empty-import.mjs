// Empty on purpose: bench/startup.mjs imports it (`node --import ./bench/empty-import.mjs -e 0`) to
// time what Node itself charges for `--import` of a module file, which `--import boros/register`
// pays before any of boros runs (on Node 20 that is most of the flag's cost).
