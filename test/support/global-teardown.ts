/**
 * After the last test file: stops every moto_server the workers shared (test/support/worker-moto.ts),
 * each by its process group, only if that pid still runs the moto_server noted (its command line and
 * port), and removes the notes and the run's CLI bundle.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { motoCommandPattern } from '../../local/moto';
import { isOurs, waitForExit } from '../../local/own-process';
import { CLI_BUNDLE_ENV } from './cli-bundle';
import { WORKER_MOTO_DIR_ENV, type WorkerMotoNote } from './worker-moto';

export default async function globalTeardown(): Promise<void> {
  const bundle = process.env[CLI_BUNDLE_ENV];
  if (bundle) rmSync(path.dirname(bundle), { recursive: true, force: true });
  const dir = process.env[WORKER_MOTO_DIR_ENV];
  if (!dir) return;
  const notes = readdirSync(dir)
    .filter((file) => file.endsWith('.json'))
    .map((file) => JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as WorkerMotoNote);
  await Promise.all(
    notes.map(async (note) => {
      if (!isOurs(note.pid, motoCommandPattern(Number(new URL(note.endpoint).port)))) return;
      try {
        process.kill(-note.pid, 'SIGTERM');
      } catch {
        return;
      }
      if (!(await waitForExit(note.pid, 5_000))) process.kill(-note.pid, 'SIGKILL');
    }),
  );
  rmSync(dir, { recursive: true, force: true });
}
