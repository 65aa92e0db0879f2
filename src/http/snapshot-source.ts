import type { Snapshot } from '../agent/store.js';

/** What the HTTP layer needs from the store: the current snapshot (after the store's cheap
 *  freshness check, so a scrape sees a file renamed into place just before it) and readiness. */
export interface SnapshotSource {
  isReady(): boolean;
  snapshot(): Promise<Snapshot>;
}
