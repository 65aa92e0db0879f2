// `npm run fuzz -- --cases N`: the fuzz tests (test/unit/core/fuzz.test.ts) at N cases instead
// of the 50,000 of `npm test`; a nightly-size run is `npm run fuzz -- --cases 1000000`. The
// agent's part judges a tenth as many files.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = process.argv.slice(2);
let cases = '50000';
for (let i = 0; i < args.length; i++) {
  const [flag, inline] = args[i].split('=');
  if (flag === '--cases') cases = inline ?? args[++i];
  else if (flag === '--help' || flag === '-h') {
    console.log('npm run fuzz -- [--cases N (50000)]');
    process.exit(0);
  } else {
    console.error(`unknown option ${args[i]}`);
    process.exit(2);
  }
}
if (!/^[1-9]\d*$/.test(cases ?? '')) {
  console.error('--cases needs a positive integer');
  process.exit(2);
}
const vitest = join(repoRoot, 'node_modules', 'vitest', 'vitest.mjs');
const result = spawnSync(process.execPath, [vitest, 'run', '--project', 'unit', 'test/unit/core/fuzz.test.ts'], {
  cwd: repoRoot,
  stdio: 'inherit',
  env: { ...process.env, PROMDROP_FUZZ_CASES: cases },
});
process.exit(result.status ?? 1);
