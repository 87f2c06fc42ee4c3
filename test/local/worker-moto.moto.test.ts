/**
 * test/support/worker-moto.ts: a jest worker's test files share one moto_server, and no file may
 * see what another left in it. Each call here stands for the next test file of the same worker.
 */
import { GetParameterCommand, ParameterNotFound, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Moto } from '../../local/moto';
import { isAlive, waitForExit } from '../../local/own-process';
import { WORKER_MOTO_DIR_ENV, workerMoto, type WorkerMotoNote } from '../support/worker-moto';

const NAME = '/worker-moto-test/left-behind';

function ssm(moto: Moto): SSMClient {
  return new SSMClient({ region: moto.region, endpoint: moto.endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
}

async function leaveParameter(moto: Moto): Promise<void> {
  await ssm(moto).send(new PutParameterCommand({ Name: NAME, Value: 'from an earlier file', Type: 'String' }));
}

async function parameterLeft(moto: Moto): Promise<boolean> {
  try {
    await ssm(moto).send(new GetParameterCommand({ Name: NAME }));
    return true;
  } catch (error) {
    if (error instanceof ParameterNotFound) return false;
    throw error;
  }
}

let last: Moto | undefined;
afterAll(async () => {
  await last?.stop();
});

it('runs under the global setup, which gives the worker a place to note its server', () => {
  expect(process.env[WORKER_MOTO_DIR_ENV]).toBeTruthy();
});

it('hands the next file the same server, emptied of what the last one left', async () => {
  const first = await workerMoto();
  await leaveParameter(first);
  expect(await parameterLeft(first)).toBe(true);

  last = await workerMoto('eu-west-1');
  expect(last.endpoint).toBe(first.endpoint);
  expect(last.env).toMatchObject({ AWS_ENDPOINT_URL: first.endpoint, AWS_REGION: 'eu-west-1' });
  expect(await parameterLeft(first)).toBe(false);
});

it('leaves the server up but empty when a file stops it', async () => {
  const moto = await workerMoto();
  await leaveParameter(moto);
  await moto.stop();
  expect(isAlive(moto.pid!)).toBe(true);
  expect(await parameterLeft(moto)).toBe(false);
});

it('starts a new server, and notes it, when the noted one is gone', async () => {
  const before = await workerMoto();
  process.kill(-before.pid!, 'SIGKILL');
  expect(await waitForExit(before.pid!, 5_000)).toBe(true);

  last = await workerMoto();
  expect(last.pid).not.toBe(before.pid);
  expect(isAlive(last.pid!)).toBe(true);
  const note = JSON.parse(readFileSync(path.join(process.env[WORKER_MOTO_DIR_ENV]!, `worker-${process.env.JEST_WORKER_ID ?? '1'}.json`), 'utf8')) as WorkerMotoNote;
  expect(note).toEqual({ pid: last.pid, endpoint: last.endpoint });
  expect(await parameterLeft(last)).toBe(false);
}, 30_000);
