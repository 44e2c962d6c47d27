/**
 * What bin/pcopy.js runs: the early fork of the first worker (worker-process.ts), before the ~290 KB
 * CLI bundle is read; then the CLI, with `loadProcessBundle` (code-cache.ts: from its code cache,
 * and V8's later tier-up once it has loaded). Bundled on its own (dist/start-up.cjs).
 */
import { forkEarlyWorker } from './worker-process.js';

export { loadBundle, loadProcessBundle } from './code-cache.js';

export function startUp(args: string[]): void {
  forkEarlyWorker(args);
}
