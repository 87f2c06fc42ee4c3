/** End to end: the Packer build fails. Nothing is recorded, no cluster is touched, ops hear why. */
import { evaluateAgainstPackagedRoles, runScenario, stopScenario, type ScenarioRun } from './scenario';

let run: ScenarioRun;

beforeAll(async () => {
  run = await runScenario('build-fails');
}, 120_000);
afterAll(() => stopScenario(run));

it('ends the run failed at the bake', () => {
  expect(run.outcome.status).toBe('FAILED');
  expect(run.outcome.path).toEqual(expect.arrayContaining(['Bake the image', 'The build failed', 'Notify ops', 'Run failed']));
  expect(run.outcome.path).not.toContain('Record the baked AMI');
});

it('writes no SSM parameter (ami/latest keeps only the setup\'s first image)', async () => {
  for (const p of await run.world.parameters()) {
    const before = p.name === run.world.names.latestAmi ? [run.world.firstImage] : [];
    expect(p).toEqual({ name: p.name, value: before.at(-1), history: before });
  }
});

it('leaves both clusters on the image they were created on', async () => {
  for (const instance of (await run.world.clusters()).flatMap((c) => c.instances)) {
    expect(instance).toMatchObject({ amiId: run.world.firstImage, ecsStatus: 'ACTIVE' });
  }
});

it('tells ops the build failed, with the failing phase and a link to its logs', async () => {
  const [message, ...more] = await run.world.opsMessages();
  expect(more).toEqual([]);
  expect(message!.attributes).toEqual({ status: 'FAILED', stage: 'demo', step: 'bake' });
  expect(message!.subject).toBe('[ecs-ami-pipeline demo] FAILED: the image build failed');
  expect(message!.message).toContain('BUILD phase FAILED');
  expect(message!.message).toMatch(/Build logs: https:\/\/console\.aws\.amazon\.com\/codesuite\/codebuild\/projects\/ecs-ami-pipeline-demo-bake\//);
  expect(message!.message).toContain('no AMI was recorded and no cluster was touched');
});

it('made only calls each function\'s packaged role allows, on their real resources', async () => {
  const { report } = await evaluateAgainstPackagedRoles(run.calls, run.world.region);
  expect(report.summary()).toBe('');
  expect(report.decisions.length).toBeGreaterThan(0);
});
