/**
 * End to end: the new image's instances never signal, so CloudFormation rolls the dev stack back.
 * The AMI stays recorded as latest but is not promoted, and the prod wave is never touched.
 */
import { evaluateAgainstPackagedRoles, runScenario, stopScenario, type ScenarioRun } from './scenario';

let run: ScenarioRun;

beforeAll(async () => {
  run = await runScenario('stack-update-fails');
}, 120_000);
afterAll(() => stopScenario(run));

it('stops the rollout after CloudFormation rolled the dev stack back', () => {
  expect(run.outcome.status).toBe('FAILED');
  expect(run.outcome.entered).toContain('CloudFormation rolled the stack back');
  expect(run.outcome.path).toContain('A cluster failed to roll');
  expect(run.outcome.path).not.toContain('Promote the AMI');
});

it('records the baked AMI as latest only', async () => {
  const byName = Object.fromEntries((await run.world.parameters()).map((p) => [p.name, p]));
  expect(byName[run.world.names.latestAmi]?.value).toBe(run.world.bakedAmis[0]);
  expect(byName[run.world.names.currentAmi]?.history).toEqual([]);
  expect(byName[run.world.names.currentBaseAmi]?.history).toEqual([]);
});

it('leaves dev back on the base AMI and prod untouched', async () => {
  const clusters = await run.world.clusters();
  for (const instance of clusters.flatMap((c) => c.instances)) {
    expect(instance).toMatchObject({ amiId: run.world.firstImage, ecsStatus: 'ACTIVE' });
  }
  expect(clusters.find((c) => c.stackName === 'ecs-prod')!.instances).toHaveLength(3);
});

it('tells ops which stack failed and why, and that prod was not started', async () => {
  const [message, ...more] = await run.world.opsMessages();
  expect(more).toEqual([]);
  expect(message!.attributes).toEqual({ status: 'FAILED', stage: 'demo', step: 'rollout' });
  expect(message!.subject).toBe('[ecs-ami-pipeline demo] FAILED: rollout stopped at ecs-dev');
  expect(message!.message).toContain('AutoScalingGroup: Received 0 SUCCESS signal(s) out of 1');
  expect(message!.message).toContain('Wave prod: not started (ecs-prod)');
  expect(message!.message).toContain(`CloudFormation rolled the stack back to ${run.world.firstImage}`);
});

it('made only calls each function\'s packaged role allows, on their real resources', async () => {
  const { report } = await evaluateAgainstPackagedRoles(run.calls, run.world.region);
  expect(report.summary()).toBe('');
  expect(report.decisions.length).toBeGreaterThan(0);
});
