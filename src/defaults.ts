// Defaults shared by the agent and the CLI, so that both look at the same directory unless told
// otherwise. Kept free of imports: the CLI's cron path loads it on every run.

/** Where textfiles live when neither a flag nor PROMDROP_DIR says otherwise. */
export const DEFAULT_TEXTFILE_DIRECTORY = '/var/lib/promdrop';

/** Outside node_exporter's 9100–9999 range, so both can run side by side during a migration. */
export const DEFAULT_PORT = 10049;
export const DEFAULT_LISTEN_ADDRESS = `:${DEFAULT_PORT}`;

export function textfileDirectoryFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env['PROMDROP_DIR'];
  return fromEnv !== undefined && fromEnv !== '' ? fromEnv : DEFAULT_TEXTFILE_DIRECTORY;
}
