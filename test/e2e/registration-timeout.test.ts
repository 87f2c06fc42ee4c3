/**
 * End to end: the dev stack updates, but the new instances never register with ECS. After the
 * registration deadline the pipeline rolls the stack back to the image the cluster last confirmed
 * (adopted when the run first met it), confirms that, promotes nothing and reports a rollback. The
 * fleet ends on the image it started on.
 */
import { evaluateAgainstPackagedRoles, runScenario, stopScenario, type ScenarioRun } from './scenario';

let run: ScenarioRun;

beforeAll(async () => {
  run = await runScenario('registration-timeout');
}, 120_000);
afterAll(() => stopScenario(run));

it('rolls the stack back after the registration deadline and ends as rolled back', () => {
  expect(run.outcome.status).toBe('FAILED');
  expect(run.outcome.error?.name).toBe('RolledBack');
  expect(run.outcome.entered).toEqual(
    expect.arrayContaining(['Roll the stack back to its last confirmed image', 'Confirm the rollback registered', 'Cluster rolled back']),
  );
});

it('promotes nothing', async () => {
  const byName = Object.fromEntries((await run.world.parameters()).map((p) => [p.name, p]));
  expect(byName[run.world.names.currentAmi]?.history).toEqual([]);
  expect(byName[run.world.names.latestAmi]?.value).toBe(run.world.bakedAmis[0]);
});

it('ends with every instance on the previous AMI and registered, none on the new one', async () => {
  const clusters = await run.world.clusters();
  for (const instance of clusters.flatMap((c) => c.instances)) {
    expect(instance).toMatchObject({ amiId: run.world.firstImage, ecsStatus: 'ACTIVE' });
  }
  const dev = clusters.find((c) => c.stackName === 'ecs-dev')!;
  const registered = await run.world.agent.instances(dev.clusterName);
  expect(registered.map((i) => i.amiId)).toEqual([run.world.firstImage]);
  // Adopted on its first image when the run met it, then confirmed there again after the rollback.
  const record = JSON.parse((await run.world.parameter(run.world.names.clusterRecord('ecs-dev')))!);
  expect(record).toMatchObject({ amiId: run.world.firstImage });
});

it('tells ops the stack was rolled back, to which image, and why', async () => {
  const [message, ...more] = await run.world.opsMessages();
  expect(more).toEqual([]);
  expect(message!.attributes).toEqual({ status: 'ROLLED_BACK', stage: 'demo', step: 'registration' });
  expect(message!.subject).toBe(`[ecs-ami-pipeline demo] ROLLED BACK: ${run.world.bakedAmis[0]} not confirmed on ecs-dev`);
  expect(message!.message).toContain(`Rolled ecs-dev back to ${run.world.firstImage}, the image last confirmed, and confirmed it; promoted nothing.`);
  expect(message!.message).toContain('RegistrationTimedOut');
});

it('made only calls each function\'s packaged role allows, on their real resources', async () => {
  const { report } = await evaluateAgainstPackagedRoles(run.calls, run.world.region);
  expect(report.summary()).toBe('');
  expect(report.decisions.length).toBeGreaterThan(0);
});
