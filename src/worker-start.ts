/**
 * What a forked worker runs (worker-process.ts forks it): V8's later tier-up first, then the worker's
 * bundle from the code cache the build made for it (code-cache.ts), which V8 takes only if the
 * process's flags are the ones it was made with. Bundled on its own (dist/worker-start.cjs).
 */
import { fileURLToPath } from 'node:url';
import { loadBundle } from './code-cache.js';
import { tierUpLater } from './tier-up.js';

tierUpLater();
loadBundle(fileURLToPath(new URL('./worker.cjs', import.meta.url)));
