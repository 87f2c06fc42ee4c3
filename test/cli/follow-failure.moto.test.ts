import { deployPipeline } from '../../local/deployment';
import { startMoto, useMotoInThisProcess, type Moto } from '../../local/moto';
import { REGION, lines, motoUser, runCli } from './harness';

/**
 * A run that fails, followed to its end. moto_server started with SF_EXECUTION_HISTORY_TYPE=FAILURE
 * answers GetExecutionHistory with a fixed history that enters a Fail state and fails the
 * execution; the mapping of the pipeline's own Fail states to exit codes is in outcome.test.ts.
 */
let moto: Moto;
let env: Record<string, string>;

beforeAll(async () => {
  moto = await startMoto(REGION, { SF_EXECUTION_HISTORY_TYPE: 'FAILURE' });
  useMotoInThisProcess(moto);
  env = motoUser(moto);
  await deployPipeline({ stage: 'dev', region: REGION, waves: [] });
}, 60_000);

afterAll(() => moto?.stop());

it('run prints the failed state and its cause, and exits 1', async () => {
  const result = await runCli(['run', '--dry-run'], env);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(1);
  expect(lines(result.stdout).slice(2)).toEqual(['     10s  A State', 'Ended FAILED after 10s: A State', '  An error occurred!']);
});
