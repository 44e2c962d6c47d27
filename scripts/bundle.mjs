/**
 * Bundles the entry points that start processes, after `tsc` has type-checked and compiled src/, so
 * that each process reads one file instead of ~150 modules (commander, fast-glob and its helpers,
 * our own): on a tiny tree start-up is most of the run (the parent's imports took ~85 ms, ~25 ms as
 * one bundle). All three are CommonJS, as is bin/pcopy.js (bin/package.json says so): Node starts a
 * CommonJS entry point without its ES module loader, which took ~5 ms of pcopy's start on a tiny
 * tree, and a forked worker that loads an ES module spends ~10 ms more of a core starting up.
 * - dist/start-up.cjs: what bin/pcopy.js loads first (start-up.ts: V8's tier-up, the first worker's fork);
 * - dist/cli.cjs: the CLI, which bin/pcopy.js loads next;
 * - dist/worker.cjs: what every worker runs.
 * The other files of dist/ stay as tsc wrote them (ES modules): the library (dist/index.js) and its
 * declarations. `import.meta.url` (where a module finds the worker and package.json) becomes the
 * bundle's own file URL.
 */
import { build } from 'esbuild';

const common = { bundle: true, platform: 'node', target: 'node20', sourcemap: true, logLevel: 'warning', format: 'cjs' };
const withFileUrl = {
  define: { 'import.meta.url': '__pcopyFileUrl' },
  banner: { js: "const __pcopyFileUrl = require('node:url').pathToFileURL(__filename).href;" },
};

await build({ ...common, ...withFileUrl, entryPoints: ['src/start-up.ts'], outfile: 'dist/start-up.cjs' });
await build({ ...common, ...withFileUrl, entryPoints: ['src/cli.ts'], outfile: 'dist/cli.cjs' });
await build({ ...common, entryPoints: ['src/worker.ts'], outfile: 'dist/worker.cjs' });
