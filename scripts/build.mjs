#!/usr/bin/env node
// Bundles every Lambda (functions/<name>/handler.ts) into .build/functions/<name>/index.js with a
// source map, minified, for the nodejs24.x runtime. The AWS SDK is bundled too, so a deployment runs
// exactly the SDK version the tests ran, not whatever the runtime ships that month. Two plugins keep
// each bundle to what it runs (scripts/sdk-schemas.mjs, scripts/lambda-credentials.mjs), and
// each source map keeps only the project's own code (scripts/own-source-map.mjs).
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { readdirSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { lambdaCredentials } from './lambda-credentials.mjs';
import { ownSourceMap } from './own-source-map.mjs';
import { sdkSchemas } from './sdk-schemas.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outRoot = path.join(root, '.build', 'functions');
/** This script and its plugins, as scripts/bundler-files.json lists them. */
export const BUNDLER_FILES = JSON.parse(readFileSync(path.join(root, 'scripts', 'bundler-files.json'), 'utf8')).files;

export function functionNames() {
  return readdirSync(path.join(root, 'functions'), { withFileTypes: true })
    // functions/lib is the code the functions share, not a function of its own.
    .filter((d) => d.isDirectory() && d.name !== 'lib' && existsSync(path.join(root, 'functions', d.name, 'handler.ts')))
    .map((d) => d.name)
    .sort();
}

/** What the bundles are made from: the functions' code, the locked dependencies, tsconfig, this script and its plugins. */
function inputsDigest() {
  const files = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else files.push(full);
    }
  };
  walk(path.join(root, 'functions'));
  files.push(...['package-lock.json', 'tsconfig.json', ...BUNDLER_FILES].map((f) => path.join(root, f)).filter(existsSync));
  const hash = createHash('sha256');
  for (const file of files.sort()) hash.update(path.relative(root, file)).update('\0').update(readFileSync(file)).update('\0');
  return hash.digest('hex');
}

const DIGEST_FILE = path.join(outRoot, 'inputs.sha256');

/** Bundles one function's entry into outfile (with outfile.map), as it is deployed. */
export async function bundleFunction(entry, outfile) {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    // The packages' ES module builds first: esbuild can drop what a function never imports from
    // them (the CommonJS builds halve no further: about 2 MiB against 1 for an EC2 function).
    mainFields: ['module', 'main'],
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    legalComments: 'none',
    // Without the first, every function that creates an EC2Client carries all of EC2's schemas and
    // every client all of its service's exception classes; the second leaves out the credential
    // providers that never answer on Lambda.
    plugins: [sdkSchemas, lambdaCredentials],
    logLevel: 'warning',
  });
  const map = `${outfile}.map`;
  writeFileSync(map, JSON.stringify(ownSourceMap(JSON.parse(readFileSync(map, 'utf8')))));
}

/**
 * Bundles every function, unless .build/functions already holds the bundles of exactly these inputs
 * (a second `make package`, or the second stage the checks package): returns the names and whether
 * they were reused.
 */
export async function bundleFunctions() {
  const digest = inputsDigest();
  const names = functionNames();
  const current = existsSync(DIGEST_FILE) && readFileSync(DIGEST_FILE, 'utf8').trim() === digest;
  if (current && names.every((name) => existsSync(path.join(outRoot, name, 'index.js')))) return Object.assign(names, { reused: true });
  rmSync(outRoot, { recursive: true, force: true });
  await Promise.all(names.map((name) => bundleFunction(path.join(root, 'functions', name, 'handler.ts'), path.join(outRoot, name, 'index.js'))));
  writeFileSync(DIGEST_FILE, `${digest}\n`);
  return names;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const names = await bundleFunctions();
  console.log(`${names.reused ? 'up to date' : 'bundled'}: ${names.length} functions in ${path.relative(root, outRoot)}/: ${names.join(', ')}`);
}
