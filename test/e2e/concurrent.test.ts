/**
 * End to end, make demo SCENARIO=concurrent: two runs started in the same second; one holds the
 * fleet and runs to the end, the other is skipped and names it.
 */
import type { RunOutcome } from '../../local/state-machine';
import { evaluateAgainstPackagedRoles, startWorld, stopScenario } from './scenario';
import { stopRecording, type RecordedCall } from '../../local/iam/recorder';
import type { Moto } from '../../local/moto';
import type { World } from '../../local/world';

describe('two runs started in the same second (concurrent)', () => {
  let env: { moto: Moto; world: World };
  let outcomes: RunOutcome[];
  let arns: string[];
  let calls: RecordedCall[];
  beforeAll(async () => {
    env = await startWorld('concurrent');
    const check = await env.world.runCheckJob();
    const manual = await env.world.startExecution('manual-same-second', { trigger: 'manual' });
    arns = [check.executionArn!, manual];
    outcomes = await Promise.all(arns.map((arn) => env.world.runExecution(arn)));
    calls = await stopRecording();
  }, 120_000);
  afterAll(() => stopScenario(env));

  it('lets exactly one run hold the fleet; the other is skipped', () => {
    const ends = outcomes.map((o) => o.path.at(-1)).sort();
    expect(ends).toEqual(['Fleet is on the new image', 'Skipped: another run holds the fleet']);
    expect(env.world.bakedAmis).toHaveLength(1);
  });

  it('tells ops once per run, the skipped run naming the run that holds the fleet', async () => {
    const messages = await env.world.opsMessages();
    expect(messages.map((m) => m.attributes.status).sort()).toEqual(['SKIPPED', 'SUCCEEDED']);
    const winner = arns[outcomes.findIndex((o) => o.path.at(-1) === 'Fleet is on the new image')]!.split(':').pop()!;
    expect(messages.find((m) => m.attributes.status === 'SKIPPED')!.subject).toContain(`run ${winner} holds the fleet`);
    expect(await env.world.lockHolder()).toBeUndefined();
  });

  it('made only calls each function\'s packaged role allows', async () => {
    const { report } = await evaluateAgainstPackagedRoles(calls, env.world.region);
    expect(report.summary()).toBe('');
  });
});
