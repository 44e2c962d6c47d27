/**
 * What a forked worker runs (worker-process.ts forks it): the worker's bundle from the code cache the
 * build made for it (code-cache.ts), then V8's later tier-up (tier-up.ts), after it, as the cache
 * and Node's own modules' caches were made under Node's flags. The bundle only sets up its handlers
 * as it loads: the first message comes after. Bundled on its own (dist/worker-start.cjs).
 */
import { fileURLToPath } from 'node:url';
import { loadBundle } from './code-cache.js';
import { tierUpLater } from './tier-up.js';

loadBundle(fileURLToPath(new URL('./worker.cjs', import.meta.url)));
tierUpLater();
