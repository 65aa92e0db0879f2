// What the HTTP layer reads about the jobs `promdrop run` records, declared here so that src/http
// depends on no other layer's code: src/program/serve.ts hands it src/job/job-reports.ts's
// reader, the same one `promdrop jobs` uses, so the page, the API and the CLI share one verdict.
import type { JobDetail, JobReport } from '../job/job-reports.js';

export interface JobsReader {
  /** Every job of `directories`, judged against `nowMs`. */
  reports(directories: readonly string[], nowMs: number): Promise<JobReport[]>;
  /** The same with each job's last runs and output tails. */
  details(directories: readonly string[], nowMs: number): Promise<JobDetail[]>;
  /** One job by name; undefined when no directory has it. */
  find(directories: readonly string[], name: string, nowMs: number): Promise<JobDetail | undefined>;
}
