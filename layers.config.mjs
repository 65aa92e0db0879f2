// promdrop's layers, written down once: eslint.config.mjs turns them into eslint-plugin-boundaries
// policies (an import that breaks one fails `npm run lint`), and scripts/architecture.mjs writes
// docs/architecture.md's layer table from them and from the real imports.
//
// `mayImport` lists the layers a layer's modules may import; a layer may always import its own
// modules. `typeOrDynamicOnly` lists layers it may import only with `import type` (erased) or a
// dynamic `import()`: the CLI's cron-path commands must not load the agent's modules (fastify,
// chokidar, pino, prom-client) at start; scripts/build.mjs turns those dynamic imports into
// requires of separate bundles.

/** @typedef {{ name: string, title: string, pattern: string, mode?: 'file', job: string, mayImport: string[], typeOrDynamicOnly?: string[], nodeBuiltins?: string[], packages?: boolean }} Layer */

/** @type {Layer[]} */
export const LAYERS = [
  {
    name: 'core',
    title: 'core',
    pattern: 'src/core',
    job: 'the exposition format, pure: no file system, network or clock (also no `Date.now`, `new Date()`, `performance`, timers or `process`)',
    mayImport: [],
    // Only node:buffer; no npm package either.
    nodeBuiltins: ['node:buffer'],
    packages: false,
  },
  {
    name: 'defaults',
    title: 'defaults',
    pattern: 'src/defaults.ts',
    mode: 'file',
    job: 'the defaults the agent and the CLI share (directory, port, limits); free of imports, since the cron path loads it on every run',
    mayImport: [],
    nodeBuiltins: [],
    packages: false,
  },
  {
    name: 'log',
    title: 'log',
    pattern: 'src/log',
    job: 'the logger (pino; logfmt or JSON lines, `--log.format`) and its levels',
    mayImport: [],
  },
  {
    name: 'fs',
    title: 'file system',
    pattern: 'src/fs',
    job: 'reading textfiles safely, listing directories and watching their textfiles, atomic writes, locks, read-modify-write edits',
    mayImport: ['core', 'defaults'],
  },
  {
    name: 'agent',
    title: 'agent (the store)',
    pattern: 'src/agent',
    job: 'the store (when to look) over the file table (list, stat, read, judge: off-thread for large files) and the snapshot builder (merge, reports, meta metrics, the Snapshot); the one-shot load of `list` and `cat`; file states, TTL, grace',
    mayImport: ['core', 'fs', 'defaults', 'log'],
  },
  {
    name: 'push',
    title: 'push',
    pattern: 'src/push',
    job: "the push API's groups: each group's file, the consistency index, the only writer of the push directory; judges a group with core's verdict and hands the written file to the store through the program's wiring",
    mayImport: ['core', 'fs'],
  },
  {
    name: 'job',
    title: 'jobs',
    pattern: 'src/job',
    job: 'the `run` wrapper: spawn, signals, timeout, the `batch_job_*` file; schedules and deadlines; the run history `NAME.job.json`; the one reader and verdict behind `promdrop jobs`, `/api/v1/jobs` and the landing page',
    mayImport: ['core', 'fs', 'defaults'],
  },
  {
    name: 'http',
    title: 'HTTP',
    pattern: 'src/http',
    job: 'the fastify app as small plugins (`/metrics`, `/`, `/api/v1/files`, health, the push routes and API), content negotiation, gzip splicing, listening or systemd sockets, `--web.config.file`; declares the interfaces it consumes (`snapshot-source.ts`, `SelfMetricsSource`, `PushTarget`, `PushedGroup`)',
    mayImport: ['core', 'log'],
    // The jobs' report types, for /api/v1/jobs and the page; the reader itself is handed in.
    typeOrDynamicOnly: ['job'],
  },
  {
    name: 'cli',
    title: 'CLI',
    pattern: 'src/cli',
    job: 'commander commands, each a thin module in `commands/`; typed errors → exit codes',
    mayImport: ['core', 'defaults', 'log', 'fs', 'push', 'job', 'http'],
    typeOrDynamicOnly: ['agent', 'program'],
  },
  {
    name: 'program',
    title: 'program',
    pattern: 'src/program',
    job: "`serve`'s wiring: flags → store → self metrics → HTTP app → listen, signals; the push wiring; the self metrics (prom-client)",
    mayImport: ['core', 'defaults', 'log', 'fs', 'agent', 'push', 'job', 'http'],
  },
];
