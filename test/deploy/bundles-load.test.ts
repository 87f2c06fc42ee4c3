/**
 * Every function's bundle, as it is deployed (.build/functions, the packages' ES module builds
 * bundled to CommonJS), loads in a fresh node and exports its handler: a package whose ES build
 * does not survive the bundling fails here, not at the first invocation on AWS.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');
const OUT = path.join(ROOT, '.build', 'functions');
let names: string[];

beforeAll(() => {
  // Reuses the bundles `make packaged` made from the same inputs; bundles them otherwise.
  const printed = execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build.mjs')], { cwd: ROOT, encoding: 'utf8' });
  names = printed.trim().split(': ').at(-1)!.split(', ');
}, 120_000);

it('bundles every function', () => {
  expect(names.length).toBeGreaterThanOrEqual(13);
  expect(names).toContain('retain-images');
  expect(names.every((n) => existsSync(path.join(OUT, n, 'index.js')))).toBe(true);
});

it('loads each bundle in a fresh node with a Lambda-like environment, finds its handler, and maps its stacks', () => {
  // One process loads them all, each from a clean module cache: what a cold start does, 13 times.
  const script = `
    const results = {};
    for (const name of ${JSON.stringify(names)}) {
      const file = ${JSON.stringify(OUT)} + '/' + name + '/index.js';
      Error.prepareStackTrace = undefined;
      try { results[name] = typeof require(file).handler + (typeof Error.prepareStackTrace === 'function' ? ', stacks mapped' : ''); } catch (e) { results[name] = 'error: ' + e.message; }
    }
    process.stdout.write(JSON.stringify(results));`;
  const out = execFileSync(process.execPath, ['-e', script], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', AWS_REGION: 'eu-west-1', AWS_LAMBDA_FUNCTION_NAME: 'bundle-load-test' },
  });
  const results = JSON.parse(out) as Record<string, string>;
  // Each also maps its stack traces to our TypeScript lines (functions/lib/source-mapped-stacks.ts).
  expect(Object.entries(results).filter(([, kind]) => kind !== 'function, stacks mapped')).toEqual([]);
}, 60_000);
