'use strict';
// Deploy-time checks use the same TypeScript the Lambdas run (e.g. the waves schema), compiled on
// the fly with esbuild, so a bad configuration fails `serverless package` instead of every run.
const { buildSync } = require('esbuild');
const Module = require('node:module');
const path = require('node:path');

const cache = new Map();

function requireTs(relativePath) {
  const file = path.resolve(__dirname, '..', relativePath);
  if (cache.has(file)) return cache.get(file);
  const out = buildSync({
    entryPoints: [file],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    write: false,
    logLevel: 'silent',
  });
  const mod = new Module(file);
  mod.filename = file;
  mod.paths = Module._nodeModulePaths(path.dirname(file));
  mod._compile(out.outputFiles[0].text, file);
  cache.set(file, mod.exports);
  return mod.exports;
}

module.exports = { requireTs };
