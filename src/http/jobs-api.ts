// `/api/v1/jobs` and `/api/v1/jobs/NAME`: the jobs `promdrop run` records in the agent's
// directories, as `promdrop jobs --json` prints them (the same reader and verdict, judged against
// the clock at the request), in the Prometheus API envelope. A job's history may hold the tail
// of its output, which can contain secrets: these routes sit behind the same --web.config.file
// authentication as /metrics (the root hook covers every route), never outside it.
import type { FastifyPluginCallback } from 'fastify';
import type { JobsReader } from './jobs-reader.js';
import { JOBS_API_PATH } from './paths.js';
import type { SnapshotSource } from './snapshot-source.js';

export interface JobsApiOptions {
  readonly source: SnapshotSource;
  readonly jobs: JobsReader;
  readonly now: () => number;
}

/** The directories the store reads now (globs expanded), where the job files are. */
export async function jobDirectories(source: SnapshotSource): Promise<string[]> {
  return (await source.snapshot()).directories.map((directory) => directory.path);
}

export const jobsApi: FastifyPluginCallback<JobsApiOptions> = (app, { source, jobs: reader, now }, done) => {
  app.get(JOBS_API_PATH, async (_request, reply) => {
    const jobs = await reader.reports(await jobDirectories(source), now());
    await reply
      .type('application/json; charset=utf-8')
      .header('Cache-Control', 'no-store')
      .send(JSON.stringify({ status: 'success', data: { jobs } }));
  });
  app.get<{ Params: { name: string } }>(`${JOBS_API_PATH}/:name`, async (request, reply) => {
    const job = await reader.find(await jobDirectories(source), request.params.name, now());
    if (job === undefined) {
      await reply
        .code(404)
        .type('application/json; charset=utf-8')
        .send(JSON.stringify({ status: 'error', errorType: 'not_found', error: `no job ${JSON.stringify(request.params.name)}` }));
      return;
    }
    await reply
      .type('application/json; charset=utf-8')
      .header('Cache-Control', 'no-store')
      .send(JSON.stringify({ status: 'success', data: { job } }));
  });
  done();
};
