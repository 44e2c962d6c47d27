/**
 * What a forked worker runs (worker-process.ts forks it): the worker's bundle, with
 * `loadProcessBundle` (code-cache.ts: from the code cache the build made for it, and V8's later
 * tier-up once it has loaded). The bundle only sets up its handlers as it loads: the first message
 * comes after. Bundled on its own (dist/worker-start.cjs).
 */
import { fileURLToPath } from 'node:url';
import { loadProcessBundle } from './code-cache.js';

loadProcessBundle(fileURLToPath(new URL('./worker.cjs', import.meta.url)));
