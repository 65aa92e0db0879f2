// How the integration tests run promdrop: `node bin/promdrop` (the checkout's CLI on the node that
// runs the tests), or, when PROMDROP_TEST_EXECUTABLE names one, that single executable: .ci/run
// sets it to build/sea/linux-x64/promdrop, so that the same tests check the program as released.
import { accessSync, constants } from 'node:fs';
import { isAbsolute } from 'node:path';

function testExecutable(): string | undefined {
  const executable = process.env['PROMDROP_TEST_EXECUTABLE'];
  if (executable === undefined || executable === '') return undefined;
  if (!isAbsolute(executable)) throw new Error(`PROMDROP_TEST_EXECUTABLE=${executable}: give an absolute path`);
  try {
    accessSync(executable, constants.X_OK);
  } catch {
    throw new Error(`PROMDROP_TEST_EXECUTABLE=${executable} is not an executable file (npm run build:sea makes one)`);
  }
  return executable;
}

/** The single executable under test, or undefined when the tests run the checkout's CLI. */
export const TEST_EXECUTABLE = testExecutable();

/** The argv prefix that runs promdrop from `script` (bin/promdrop or a copy of dist/cli.cjs):
 *  [node, script], or [the executable]. */
export function promdropArgv(script: string): [string, ...string[]] {
  return TEST_EXECUTABLE === undefined ? [process.execPath, script] : [TEST_EXECUTABLE];
}
