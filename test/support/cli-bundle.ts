import { existsSync, renameSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');

/** Set by test/support/global-setup.ts: where the CLI bundle of this jest run is kept. */
export const CLI_BUNDLE_ENV = 'AMI_PIPELINE_TEST_CLI_BUNDLE';

let bundled: Promise<string> | undefined;
/**
 * The CLI as one CommonJS file, for the many process-level tests: the same source as
 * bin/ami-pipeline.js runs, without compiling it through tsx at every start. Its dependencies are
 * bundled in too (their ES module builds, the SDK's schemas trimmed as for the functions), so a
 * start does not parse the SDK's whole CommonJS clients: about 0.3 s a start against 0.9 s.
 * test/cli/entry.test.ts runs the CLI as it ships. Built once per jest run, by the first test file
 * that needs it (the path global-setup.ts chose), not once per file: each build costs esbuild about
 * 1.5 s of CPU. Written under a temporary name and renamed, so parallel workers never read a
 * half-written file; two workers that start together may both build it, and either file is whole.
 */
export function cliBundle(): Promise<string> {
  bundled ??= (async () => {
    const out = process.env[CLI_BUNDLE_ENV] || path.join(ROOT, '.build', 'cli', 'ami-pipeline.cjs');
    if (process.env[CLI_BUNDLE_ENV] && existsSync(out)) return out;
    const tmp = `${out}.${process.pid}.tmp`;
    const { sdkSchemaKeys } = await import('../../scripts/sdk-schema-keys.mjs');
    const { build } = await import('esbuild');
    await build({
      entryPoints: [path.join(ROOT, 'cli', 'main.ts')],
      outfile: tmp,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node24',
      mainFields: ['module', 'main'],
      plugins: [sdkSchemaKeys],
      logLevel: 'warning',
      // What bin/ami-pipeline.js sets before it loads the CLI.
      banner: { js: "process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';" },
    });
    renameSync(tmp, out);
    return out;
  })();
  return bundled;
}
