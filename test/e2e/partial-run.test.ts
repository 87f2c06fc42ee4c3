/**
 * End to end, make demo SCENARIO=partial-run: a first run promotes A; a run limited to ecs-prod
 * (skipping the earlier wave on request) rolls prod only to B, leaves ami/current on A, and names
 * ecs-dev as still behind. Its own file: the handlers' clients keep the first moto's endpoint.
 */
import type { RunOutcome } from '../../local/state-machine';
import { evaluateAgainstPackagedRoles, startWorld, stopScenario } from './scenario';
import { stopRecording, type RecordedCall } from '../../local/iam/recorder';
import type { Moto } from '../../local/moto';
import type { World } from '../../local/world';

describe('a run limited to ecs-prod (partial-run)', () => {
  let env: { moto: Moto; world: World };
  let first: RunOutcome;
  let partial: RunOutcome;
  let calls: RecordedCall[];
  beforeAll(async () => {
    env = await startWorld('partial-run');
    const check = await env.world.runCheckJob();
    first = await env.world.runExecution(check.executionArn!);
    await env.world.opsMessages();
    const started = await env.world.startExecution('manual-prod-only', { trigger: 'manual', clusters: ['ecs-prod'], skipEarlierWaves: true });
    partial = await env.world.runExecution(started);
    calls = await stopRecording();
  }, 120_000);
  afterAll(() => stopScenario(env));

  it('promotes A with the first run, then rolls only ecs-prod to B and ends PARTIAL', () => {
    expect(first.path.at(-1)).toBe('Fleet is on the new image');
    expect(partial.status).toBe('SUCCEEDED');
    expect(partial.path.at(-1)).toBe('Rolled out to part of the fleet');
  });

  it('leaves ami/current on A, ecs-dev on A and ecs-prod on B, each confirmed', async () => {
    const [a, b] = env.world.bakedAmis;
    expect(await env.world.parameter(env.world.names.currentAmi)).toBe(a);
    expect(await env.world.confirmedImage('ecs-dev')).toBe(a);
    expect(await env.world.confirmedImage('ecs-prod')).toBe(b);
    const clusters = await env.world.clusters();
    expect(clusters.find((c) => c.stackName === 'ecs-dev')!.instances.every((i) => i.amiId === a)).toBe(true);
    expect(clusters.find((c) => c.stackName === 'ecs-prod')!.instances.every((i) => i.amiId === b)).toBe(true);
  });

  it('tells ops that ecs-dev is still on A', async () => {
    const [a, b] = env.world.bakedAmis;
    const [message, ...more] = await env.world.opsMessages();
    expect(more).toEqual([]);
    expect(message!.attributes).toEqual({ status: 'PARTIAL', stage: 'demo', step: 'promote' });
    expect(message!.subject).toBe(`[ecs-ami-pipeline demo] PARTIAL: ${b} rolled to 1 cluster, not promoted`);
    expect(message!.message).toContain(`Still on older images: ecs-dev (${a})`);
  });

  it('made only calls each function\'s packaged role allows', async () => {
    const { report } = await evaluateAgainstPackagedRoles(calls, env.world.region);
    expect(report.summary()).toBe('');
  });
});

