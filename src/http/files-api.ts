// `/api/v1/files`: the landing page's table for scripts and `jq`, in the envelope the Prometheus
// server's own /api/v1 uses ({"status":"success","data":...}). Each file is a FileReport as the
// store makes it (docs/agent.md lists the fields), and so is each directory (after glob
// expansion); absent optional fields are left out.
import type { FastifyPluginCallback } from 'fastify';
import { FILES_API_PATH } from './paths.js';
import type { SnapshotSource } from './snapshot-source.js';

export const filesApi: FastifyPluginCallback<{ readonly source: SnapshotSource }> = (app, { source }, done) => {
  app.get(FILES_API_PATH, async (_request, reply) => {
    const snapshot = await source.snapshot();
    const body = JSON.stringify({
      status: 'success',
      data: { generation: snapshot.generation, files: snapshot.files, directories: snapshot.directories },
    });
    await reply.type('application/json; charset=utf-8').header('Cache-Control', 'no-store').send(body);
  });
  done();
};
