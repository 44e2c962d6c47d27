/**
 * Bundles the two entry points that start processes, after `tsc` has type-checked and compiled src/,
 * so that each process reads one file instead of ~150 modules (commander, fast-glob and its helpers,
 * our own): on a tiny tree start-up is most of the run (the parent's imports took ~85 ms, ~25 ms as
 * one bundle).
 * - dist/cli.js, what bin/pcopy.js runs, replaced by its bundle (an ES module);
 * - dist/worker.cjs, what every worker runs: CommonJS, because a forked child that loads an ES
 *   module spends ~10 ms more of a core starting up.
 * The other files of dist/ stay as tsc wrote them: the library (dist/index.js) and its declarations.
 */
import { build } from 'esbuild';

const common = { bundle: true, platform: 'node', target: 'node20', sourcemap: true, logLevel: 'warning' };

await build({
  ...common,
  entryPoints: ['src/cli.ts'],
  outfile: 'dist/cli.js',
  allowOverwrite: true,
  format: 'esm',
  // CommonJS dependencies bundled into an ES module still call require() for Node's built-ins.
  banner: { js: "import { createRequire as __pcopyRequire } from 'node:module'; const require = __pcopyRequire(import.meta.url);" },
});
await build({
  ...common,
  entryPoints: ['src/worker.ts'],
  outfile: 'dist/worker.cjs',
  format: 'cjs',
});
