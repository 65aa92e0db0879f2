// Exit codes, in one place: scripts and cron wrappers branch on them, so they never change.
// `run` is the exception: it exits with the wrapped command's own status (128+N on signal N).
export const EXIT_OK = 0;
/** Invalid input (a file the agent would reject), or a write that failed and changed nothing. */
export const EXIT_INVALID = 1;
/** Bad flags or arguments. */
export const EXIT_USAGE = 2;
/** `check` only: the input is valid but has lint warnings (promtool's convention). */
export const EXIT_WARNINGS = 3;
