/**
 * Before any test file: a directory where each jest worker notes the moto_server it shares between
 * its files (test/support/worker-moto.ts), and the path of this run's CLI bundle
 * (test/support/cli-bundle.ts), which the first file that runs the CLI builds. The workers inherit both
 * variables; global-teardown.ts removes the directories.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CLI_BUNDLE_ENV } from './cli-bundle';
import { WORKER_MOTO_DIR_ENV } from './worker-moto';

export default function globalSetup(): void {
  process.env[WORKER_MOTO_DIR_ENV] = mkdtempSync(path.join(tmpdir(), 'worker-moto-'));
  process.env[CLI_BUNDLE_ENV] = path.join(mkdtempSync(path.join(tmpdir(), 'ami-pipeline-cli-bundle-')), 'ami-pipeline.cjs');
}
