// Run by test/deploy/bundle-slimming.test.ts in its own node (esbuild does not run inside jest's
// sandbox): bundles each named SDK client's schemas module as it is and as scripts/sdk-schema-keys.mjs
// rewrites it, evaluates both, and prints for each whether every exported schema is the same value.
// Usage: node test/support/schema-equivalence.mjs @aws-sdk/client-ec2 [...]
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { literalSchemaKeys, sdkSchemaKeys } from '../../scripts/sdk-schema-keys.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(path.join(root, 'package.json'));

async function evaluate(file, plugins) {
  const result = await build({ entryPoints: [file], bundle: true, platform: 'node', format: 'cjs', mainFields: ['module', 'main'], write: false, plugins, logLevel: 'error' });
  const module = { exports: {} };
  new Function('module', 'exports', 'require', result.outputFiles[0].text)(module, module.exports, require);
  return module.exports;
}

/** A schema's value written out: a lazy member reference (`() => Shape$`) as the shape it names, a class by its name. */
function canonical(exports) {
  const named = (value) => (Array.isArray(value) ? `${value[1]}#${value[2]}` : typeof value === 'function' ? `class ${value.name}` : JSON.stringify(value));
  return JSON.stringify(exports, (_key, value) => {
    if (typeof value !== 'function') return value;
    if (/^class\b/.test(Function.prototype.toString.call(value))) return `class ${value.name}`;
    return `=> ${named(value())}`;
  });
}

const report = {};
for (const client of process.argv.slice(2)) {
  const file = path.join(root, 'node_modules', client, 'dist-es', 'schemas', 'schemas_0.js');
  const [asPublished, rewritten] = [canonical(await evaluate(file, [])), canonical(await evaluate(file, [sdkSchemaKeys]))];
  report[client] = {
    same: asPublished === rewritten,
    keysRewritten: literalSchemaKeys(readFileSync(file, 'utf8')).rewritten,
    schemas: Object.keys(JSON.parse(asPublished)).length,
  };
}
process.stdout.write(JSON.stringify(report));
