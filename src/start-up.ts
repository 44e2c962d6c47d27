/**
 * What bin/pcopy.js runs before it loads the CLI: the early fork of the first worker
 * (worker-process.ts), then V8's later tier-up (tier-up.ts; loading node:v8 takes ~1.6 ms, which
 * the fork need not wait for). Bundled on its own (dist/start-up.cjs), so both happen before the
 * ~290 KB CLI bundle is read, which bin/pcopy.js then loads with `loadBundle` (code-cache.ts): after
 * the tier-up, as its code cache was made.
 */
import { tierUpLater } from './tier-up.js';
import { forkEarlyWorker } from './worker-process.js';

export { loadBundle } from './code-cache.js';

export function startUp(args: string[]): void {
  forkEarlyWorker(args);
  tierUpLater();
}
