// Runs dist/cli.cjs the way require() would, but with the V8 code cache that `npm run build`
// leaves next to it (dist/cli.cjs.v8-cache): a cron job starts promdrop on every run, and
// compiling the bundle was about a fifth of its start-up time. V8 checks the cache against the
// source and its own version and flags, and silently compiles from source when they differ (a
// newer node, a rebuilt bundle): the cache can make start-up faster, never wrong. Node 22's
// module.enableCompileCache() does the same, but the checkout must also run on the Node 20 a
// development machine may still have (npm test there), which lacks it.
'use strict';
const { readFileSync } = require('node:fs');
const Module = require('node:module');
const { dirname, join } = require('node:path');
const { Script } = require('node:vm');

const CLI = join(__dirname, '..', 'dist', 'cli.cjs');
const CODE_CACHE = `${CLI}.v8-cache`;

/** Compiles and runs the CLI bundle; returns its Script, from which the build makes the cache. */
function runCli() {
  let cachedData;
  try {
    cachedData = readFileSync(CODE_CACHE);
  } catch {
    cachedData = undefined;
  }
  // No import() in the bundle (scripts/build.mjs): code from the cache could not run one.
  const script = new Script(Module.wrap(readFileSync(CLI, 'utf8')), { filename: CLI, cachedData });
  const cliModule = new Module(CLI, module);
  cliModule.filename = CLI;
  script.runInThisContext()(cliModule.exports, Module.createRequire(CLI), cliModule, CLI, dirname(CLI));
  cliModule.loaded = true;
  return script;
}

module.exports = { runCli, CODE_CACHE };
