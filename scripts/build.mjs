#!/usr/bin/env node
// Bundles every Lambda (functions/<name>/handler.ts) into .build/functions/<name>/index.js with a
// source map, minified, for the nodejs22.x runtime. The AWS SDK is bundled too, so a deployment runs
// exactly the SDK version the tests ran, not whatever the runtime ships that month.
import { build } from 'esbuild';
import { readdirSync, existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outRoot = path.join(root, '.build', 'functions');

export function functionNames() {
  return readdirSync(path.join(root, 'functions'), { withFileTypes: true })
    // functions/lib is the code the functions share, not a function of its own.
    .filter((d) => d.isDirectory() && d.name !== 'lib' && existsSync(path.join(root, 'functions', d.name, 'handler.ts')))
    .map((d) => d.name)
    .sort();
}

export async function bundleFunctions() {
  rmSync(outRoot, { recursive: true, force: true });
  const names = functionNames();
  await Promise.all(
    names.map((name) =>
      build({
        entryPoints: [path.join(root, 'functions', name, 'handler.ts')],
        outfile: path.join(outRoot, name, 'index.js'),
        bundle: true,
        platform: 'node',
        target: 'node22',
        format: 'cjs',
        minify: true,
        sourcemap: true,
        sourcesContent: false,
        legalComments: 'none',
        logLevel: 'warning',
      }),
    ),
  );
  return names;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const names = await bundleFunctions();
  console.log(`bundled ${names.length} functions into ${path.relative(root, outRoot)}/: ${names.join(', ')}`);
}
