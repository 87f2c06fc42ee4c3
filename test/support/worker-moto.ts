/**
 * One moto_server per jest worker, shared by the test files that worker runs one after another,
 * emptied between them. A fresh moto costs about 5 s of CPU before it answers a first call of
 * each service (its start, then importing each service's models and loading their defaults on
 * first use), and about fifteen test files need one: sharing it is most of what keeps `make test`
 * short on a two-core machine.
 *
 * A file gets it with `await workerMoto(region)`: emptied (`/moto-api/reset`) before the file
 * uses it and again by `stop()`, so no file sees another's resources. jest runs a worker's files
 * one at a time, so two files never share a server at once. A file that needs a server started
 * differently (another server environment) starts its own with local/moto.ts's startMoto.
 *
 * test/support/global-setup.ts makes the directory where each worker notes its server (inherited
 * by the workers through WORKER_MOTO_DIR); test/support/global-teardown.ts stops them all.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { MOTO_SERVER_ENVIRONMENT } from '../../local/gates';
import { motoEnvironment, startMoto, type Moto } from '../../local/moto';
import { isAlive } from '../../local/own-process';

export const WORKER_MOTO_DIR_ENV = 'WORKER_MOTO_DIR';

/** What a worker notes about its server, for the next file it runs and for the teardown. */
export interface WorkerMotoNote {
  pid: number;
  endpoint: string;
}

/** Every shared server is started like this: the e2e scenarios need ECS services reported running (local/gates.ts). */
export const WORKER_MOTO_ENVIRONMENT = MOTO_SERVER_ENVIRONMENT;

function noteFile(): string | undefined {
  const dir = process.env[WORKER_MOTO_DIR_ENV];
  return dir ? path.join(dir, `worker-${process.env.JEST_WORKER_ID ?? '1'}.json`) : undefined;
}

async function answers(endpoint: string): Promise<boolean> {
  try {
    return (await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' })).ok;
  } catch {
    return false;
  }
}

/**
 * This worker's moto, emptied, with the environment for `region`. Without the global setup (a
 * tool that runs a test file outside jest's config), a private server like startMoto's.
 */
export async function workerMoto(region = 'us-east-1'): Promise<Moto> {
  const file = noteFile();
  if (!file) return startMoto(region, WORKER_MOTO_ENVIRONMENT);
  if (existsSync(file)) {
    const note = JSON.parse(readFileSync(file, 'utf8')) as WorkerMotoNote;
    if (isAlive(note.pid) && (await answers(note.endpoint))) return shared(note, region);
  }
  const moto = await startMoto(region, WORKER_MOTO_ENVIRONMENT, 0, { logFile: file.replace(/\.json$/, '.log') });
  const note: WorkerMotoNote = { pid: moto.pid!, endpoint: moto.endpoint };
  writeFileSync(file, JSON.stringify(note));
  return shared(note, region);
}

function shared(note: WorkerMotoNote, region: string): Moto {
  const reset = async () => {
    await fetch(`${note.endpoint}/moto-api/reset`, { method: 'POST' });
  };
  return {
    endpoint: note.endpoint,
    region,
    pid: note.pid,
    env: motoEnvironment(note.endpoint, region),
    reset,
    // The server stays up for the worker's next file, empty.
    stop: reset,
  };
}
