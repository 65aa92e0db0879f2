// The agent's fixed URL paths, in a module without imports so that the CLI can check
// --web.telemetry-path against them without loading the HTTP stack.
export const FILES_API_PATH = '/api/v1/files';
export const JOBS_API_PATH = '/api/v1/jobs';
export const HEALTHY_PATH = '/-/healthy';
export const READY_PATH = '/-/ready';
export const LANDING_PAGE_PATH = '/';

/** Paths the telemetry path must not take (the landing page gives way to it instead). */
export const RESERVED_PATHS: readonly string[] = [FILES_API_PATH, JOBS_API_PATH, HEALTHY_PATH, READY_PATH];
