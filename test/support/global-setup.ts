/**
 * Before any test file:
 * - the pipeline packaged for the two test stages, when its inputs changed since the last packaging
 *   (deploy/packaged-stages.js). `make test` has done it already; a bare `jest` after an edit has
 *   not, and packaging inside the first e2e test's time limit timed it out on a busy machine.
 * - a directory where each jest worker notes the moto_server it shares between its files
 *   (test/support/worker-moto.ts), and the path of this run's CLI bundle (test/support/cli-bundle.ts),
 *   which the first file that runs the CLI builds. The workers inherit both variables;
 *   global-teardown.ts removes the directories.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CLI_BUNDLE_ENV } from './cli-bundle';
import { WORKER_MOTO_DIR_ENV } from './worker-moto';

const { packagedStages } = require('../../deploy/packaged-stages') as {
  packagedStages: (each?: (name: string, dir: string, seconds: number) => void) => void;
};

export default function globalSetup(): void {
  let seconds = 0;
  packagedStages((_name, _dir, took) => (seconds += took));
  if (seconds > 2) console.log(`\npackaged the pipeline's test stages in ${seconds.toFixed(0)} s (its inputs had changed)`);
  process.env[WORKER_MOTO_DIR_ENV] = mkdtempSync(path.join(tmpdir(), 'worker-moto-'));
  process.env[CLI_BUNDLE_ENV] = path.join(mkdtempSync(path.join(tmpdir(), 'ami-pipeline-cli-bundle-')), 'ami-pipeline.cjs');
}
