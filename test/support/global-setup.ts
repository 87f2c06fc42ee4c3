/**
 * Before any test file: a directory where each jest worker notes the moto_server it shares between
 * its files (test/support/worker-moto.ts). The workers inherit the variable.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { WORKER_MOTO_DIR_ENV } from './worker-moto';

export default function globalSetup(): void {
  process.env[WORKER_MOTO_DIR_ENV] = mkdtempSync(path.join(tmpdir(), 'worker-moto-'));
}
