// Where `promdrop run --name NAME` records its outcome: NAME.job.prom. The `.job` part keeps the
// file out of reach of `write NAME` (which writes NAME.prom), and the writing commands refuse
// names ending in `.job`, so a job's counts and last success cannot be overwritten by accident.
import { join } from 'node:path';

export const JOB_FILE_SUFFIX = '.job.prom';

/** The outcome file of job `name` in `directory`. */
export function jobFilePath(directory: string, name: string): string {
  return join(directory, `${name}${JOB_FILE_SUFFIX}`);
}
