// Run by scripts/build.mjs as `node scripts/make-code-cache.cjs`: runs `promdrop --version`
// through bin/load-cli.cjs, so that the functions every start-up runs are compiled too, and
// writes V8's code cache for dist/cli.cjs (see bin/load-cli.cjs).
'use strict';
const { rmSync, writeFileSync } = require('node:fs');
const { runCli, CODE_CACHE } = require('../bin/load-cli.cjs');

rmSync(CODE_CACHE, { force: true });
process.argv = [process.argv[0], 'promdrop', '--version'];
const script = runCli();
process.on('exit', () => writeFileSync(CODE_CACHE, script.createCachedData()));
