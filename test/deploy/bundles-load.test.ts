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
  // After each load, a frame at the first position the bundle's map gives our code is written out
  // as Error.prepareStackTrace now would: it must name a functions/ source, not index.js.
  const script = `
    const { decode } = require(${JSON.stringify(require.resolve('@jridgewell/sourcemap-codec'))});
    const fs = require('node:fs');
    const results = {};
    for (const name of ${JSON.stringify(names)}) {
      const file = ${JSON.stringify(OUT)} + '/' + name + '/index.js';
      Error.prepareStackTrace = undefined;
      try {
        const kind = typeof require(file).handler;
        const lines = decode(JSON.parse(fs.readFileSync(file + '.map', 'utf8')).mappings);
        const line = lines.findIndex((segments) => segments.some((s) => s.length > 1));
        const column = lines[line].find((s) => s.length > 1)[0];
        const site = { toString: () => file + ':' + (line + 1) + ':' + (column + 1), getFileName: () => file, getLineNumber: () => line + 1, getColumnNumber: () => column + 1 };
        const frame = typeof Error.prepareStackTrace === 'function' ? Error.prepareStackTrace(new Error('x'), [site]).split('\\n')[1] : 'no mapping installed';
        results[name] = kind + (/^    at functions\\/\\S+\\.ts:\\d+:\\d+$/.test(frame) ? ', stacks mapped' : ', ' + frame);
      } catch (e) { results[name] = 'error: ' + e.message; }
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
