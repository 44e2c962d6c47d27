/**
 * What bin/pcopy.js runs before it loads the CLI: V8's later tier-up (tier-up.ts), then the early
 * fork of the first worker (worker-process.ts). Bundled on its own (dist/start-up.cjs), so both
 * happen before the ~470 KB CLI bundle is read.
 */
import { tierUpLater } from './tier-up.js';
import { forkEarlyWorker } from './worker-process.js';

export function startUp(args: string[]): void {
  tierUpLater();
  forkEarlyWorker(args);
}
