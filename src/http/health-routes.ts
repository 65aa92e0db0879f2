// Liveness and readiness, as the Prometheus server and Pushgateway answer them: `/-/healthy` is
// 200 while the process can answer at all; `/-/ready` is 200 once the first scan of the
// directories is done and the watcher runs, and 503 before, so an orchestrator does not route
// scrapes to an agent that would still serve an incomplete view of the files.
import type { FastifyPluginCallback } from 'fastify';
import { HEALTHY_PATH, READY_PATH } from './paths.js';
import type { SnapshotSource } from './snapshot-source.js';

export const healthRoutes: FastifyPluginCallback<{ readonly source: SnapshotSource }> = (app, { source }, done) => {
  app.get(HEALTHY_PATH, async (_request, reply) => {
    await reply.type('text/plain; charset=utf-8').send('OK');
  });
  app.get(READY_PATH, async (_request, reply) => {
    if (source.isReady()) {
      await reply.type('text/plain; charset=utf-8').send('OK');
      return;
    }
    await reply.code(503).type('text/plain; charset=utf-8').send('Service Unavailable: the first scan of the textfile directories is not finished\n');
  });
  done();
};
