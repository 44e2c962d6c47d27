/**
 * The published package: `npm pack` holds only what users need (package.json, README, LICENSE, the
 * bin script, compiled JS and type declarations), and the tarball installed into a fresh project
 * gives a working `pcopy` command. Needs dist (`npm run build`) and the dependencies in the npm cache.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build, cleanup, diffTrees, snapshot, tempDir, writeFile } from '../helpers/tree.js';
import { envWithoutV8Settings, ROOT, runCommand, type RunResult } from '../helpers/run.js';

const TIMEOUT = 120_000;

/** Runs npm, tar or the installed bin to completion, without npm's update check. */
function run(cmd: string, args: string[], cwd: string): Promise<RunResult> {
  return runCommand(cmd, args, { cwd, extraEnv: { npm_config_update_notifier: 'false' }, timeoutMs: TIMEOUT });
}

const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };

describe('npm package', () => {
  let dir: string;
  let tarball: string;
  let files: string[];

  beforeAll(async () => {
    dir = fs.realpathSync(tempDir('pcopy-feat-pkg-'));
    const packDir = path.join(dir, 'pack');
    fs.mkdirSync(packDir);
    // --ignore-scripts: `prepare` would rebuild dist/ in place while other test files run the CLI from it.
    const r = await run('npm', ['pack', '--ignore-scripts', '--pack-destination', packDir], ROOT);
    expect(r.code, r.stderr).toBe(0);
    const made = fs.readdirSync(packDir);
    expect(made).toEqual([`${pkg.name}-${pkg.version}.tgz`]);
    tarball = path.join(packDir, made[0]!);
    const t = await run('tar', ['tzf', tarball], dir);
    expect(t.code, t.stderr).toBe(0);
    files = t.stdout.split('\n').filter(Boolean).sort();
  }, TIMEOUT);

  afterAll(() => {
    if (dir) cleanup(dir);
  });

  it('the tarball holds only package.json, README.md, LICENSE, bin/pcopy.js (CommonJS: bin/package.json), dist/*.js / dist/*.d.ts, the four bundles and two code caches', () => {
    const allowed = /^package\/(package\.json|README\.md|LICENSE|bin\/pcopy\.js|bin\/package\.json|dist\/[\w.-]+\.(js|d\.ts)|dist\/(cli|worker|worker-start|start-up)\.cjs|dist\/(cli|worker)\.cjs\.cache)$/;
    expect(files.filter((f) => !allowed.test(f))).toEqual([]);
    const bundles = ['dist/cli.cjs', 'dist/worker.cjs', 'dist/worker-start.cjs', 'dist/start-up.cjs', 'dist/cli.cjs.cache', 'dist/worker.cjs.cache'];
    for (const f of ['package.json', 'README.md', 'LICENSE', 'bin/pcopy.js', 'bin/package.json', ...bundles]) expect(files).toContain(`package/${f}`);
    // Every module of src/ ships compiled, with its declarations; no sources, tests, fixtures or maps.
    const modules = fs.readdirSync(path.join(ROOT, 'src')).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3));
    expect(modules.length).toBeGreaterThan(5);
    for (const m of modules) {
      expect(files).toContain(`package/dist/${m}.js`);
      expect(files).toContain(`package/dist/${m}.d.ts`);
    }
    expect(files.filter((f) => /\/(src|test|fixtures|bench)\/|\.map$|\.ts$/.test(f) && !f.endsWith('.d.ts'))).toEqual([]);
  });

  it(
    'installs into a fresh project (offline, from the npm cache) and its pcopy command copies a tree; --version matches',
    async () => {
      const project = path.join(dir, 'project');
      fs.mkdirSync(project);
      fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'pcopy-install-check', version: '1.0.0', private: true }, null, 2));
      let r = await run('npm', ['install', '--offline', '--no-audit', '--no-fund', tarball], project);
      if (r.code !== 0) r = await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], project);
      expect(r.code, r.stderr).toBe(0);
      const bin = path.join(project, 'node_modules', '.bin', 'pcopy');
      expect(fs.existsSync(bin)).toBe(true);
      // Installed as a copy from the tarball, not a link back into this repository.
      expect(fs.realpathSync(bin).startsWith(project)).toBe(true);

      const src = path.join(dir, 'src');
      build(src, { 'a.txt': 'alpha\n', '.hidden': 'h\n', sub: { 'b.txt': 'bravo\n', empty: {} } });
      writeFile(path.join(src, 'sub', 'data.bin'), 200_000, { mode: 0o640 });
      fs.symlinkSync('a.txt', path.join(src, 'link'));
      const dest = path.join(dir, 'dest');
      const c = await run(bin, [src, dest], project);
      expect(c.stderr).toBe('');
      expect(c.code).toBe(0);
      expect(c.stdout).toMatch(/^pcopy: 4 files copied, /);
      expect(diffTrees(snapshot(src, { withRoot: true }), snapshot(dest, { withRoot: true }))).toEqual([]);

      // The installed bundles load from their code caches (npm gives every file a new time); V8
      // takes a cache only with the flags it was made with, so none come from the test runner.
      const timed = await runCommand(bin, [src, path.join(dir, 'dest-timed')], { cwd: project, env: envWithoutV8Settings(), extraEnv: { PCOPY_DEBUG_TIMING: '1' }, timeoutMs: TIMEOUT });
      expect(timed.code, timed.stderr).toBe(0);
      expect(timed.stderr.match(/code cache used/g)?.length ?? 0, timed.stderr).toBeGreaterThanOrEqual(2);
      expect(timed.stderr).not.toMatch(/code cache (none|rejected)/);

      const v = await run(bin, ['--version'], project);
      expect(v.code).toBe(0);
      expect(v.stdout.trim()).toBe(pkg.version);
    },
    TIMEOUT,
  );
});
