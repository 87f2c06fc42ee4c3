/**
 * Copies in other regions (param copyToRegions), with the real definition and handlers against the
 * model account: each region gets an encrypted, tagged copy, recorded there as ami/latest, before the
 * rollout; a retried start finds its own copy; a failed copy ends the run before any cluster is touched.
 */
import { COPY_TAGS, LAMBDA_ENV } from '../../functions/lib/contracts';
import { ModelWorld, NEW_ARM_BASE, NEW_BASE, STACKS, names, target } from '../support/model-world';

const worlds: ModelWorld[] = [];
afterEach(() => {
  while (worlds.length) worlds.pop()!.restore();
  delete process.env[LAMBDA_ENV.copyToRegions];
});

function setUp(copyToRegions: unknown[]): ModelWorld {
  const world = new ModelWorld();
  worlds.push(world);
  process.env[LAMBDA_ENV.copyToRegions] = JSON.stringify(copyToRegions);
  return world;
}

const KEY = 'arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555';

it('copies the image to each region, encrypted and tagged, records it there as ami/latest, then rolls the fleet', async () => {
  const world = setUp([{ region: 'eu-west-1', kmsKeyId: KEY }, { region: 'ap-southeast-2' }]);
  const run = await world.run({ trigger: 'weekly' }, 'copies');
  const [ami] = world.baked;
  expect(run.status).toBe('SUCCEEDED');
  expect(run.entered.filter((s) => s === 'Start the copy')).toHaveLength(2);
  expect(run.path.indexOf('Copy the image to each region')).toBeLessThan(run.path.indexOf("Roll the wave's clusters"));

  const calls = world.aws.copyCalls.map((c) => ({ region: c.region, input: c.input as Record<string, any> }));
  expect(calls.map((c) => c.region).sort()).toEqual(['ap-southeast-2', 'eu-west-1']);
  const eu = calls.find((c) => c.region === 'eu-west-1')!.input;
  expect(eu).toMatchObject({ SourceImageId: ami, SourceRegion: 'us-east-1', Encrypted: true, KmsKeyId: KEY, ClientToken: 'copies/eu-west-1' });
  const tags = Object.fromEntries((eu.TagSpecifications[0].Tags as { Key: string; Value: string }[]).map((t) => [t.Key, t.Value]));
  expect(tags).toMatchObject({ ManagedBy: 'ecs-ami-pipeline', SourceAmiId: NEW_BASE, [COPY_TAGS.copiedFrom]: ami, [COPY_TAGS.copiedFromRegion]: 'us-east-1' });
  expect(eu.TagSpecifications.map((t: { ResourceType: string }) => t.ResourceType)).toEqual(['image', 'snapshot']);
  expect(calls.find((c) => c.region === 'ap-southeast-2')!.input.KmsKeyId).toBeUndefined();

  const euCopy = world.aws.copyCalls.find((c) => c.region === 'eu-west-1')!.imageId!;
  expect(world.aws.value(`eu-west-1:${names.latestAmi}`)).toBe(euCopy);
  expect(JSON.parse(world.aws.value(`eu-west-1:${names.latestAmiRecord}`)!)).toMatchObject({ amiId: euCopy, copiedFrom: { region: 'us-east-1', amiId: ami } });
  // Home keeps its own image; the fleet (all in the home region) rolls it.
  expect(world.aws.value(names.latestAmi)).toBe(ami);
  expect(STACKS.map((s) => world.imageOf(s))).toEqual([ami, ami, ami]);
  const apCopy = world.aws.copyCalls.find((c) => c.region === 'ap-southeast-2')!.imageId!;
  expect(world.aws.published.at(-1)!.message).toContain(`Copies:       eu-west-1 ${euCopy}, ap-southeast-2 ${apCopy} (ami/latest in each region)`);
});

it('starts the same copy again, not a second one, when the answer of a start is lost', async () => {
  const world = setUp([{ region: 'eu-west-1' }]);
  const run = await world.run({ trigger: 'weekly' }, 'lost-answer', {
    wrapTask: async (call, go) => {
      const out = await go();
      if (call.state === 'Start the copy' && call.call === 0) {
        const error = new Error('lost');
        error.name = 'Lambda.ServiceException';
        throw error;
      }
      return out;
    },
  });
  expect(run.status).toBe('SUCCEEDED');
  const ids = new Set(world.aws.copyCalls.map((c) => c.imageId));
  expect(world.aws.copyCalls).toHaveLength(2);
  expect(ids.size).toBe(1);
});

it('ends FAILED at copy, with no cluster touched, when a copy fails', async () => {
  const world = setUp([{ region: 'eu-west-1' }]);
  const run = await world.run({ trigger: 'weekly' }, 'copy-fails', {
    wrapTask: async (call, go) => {
      const out = (await go()) as { amiId?: string };
      if (call.state === 'Start the copy') {
        const image = world.aws.images.get(`eu-west-1:${out.amiId}`)!;
        world.aws.images.set(`eu-west-1:${out.amiId}`, { ...image, State: 'failed', StateReason: { Code: 'Client.KmsAccessDenied', Message: 'the key policy does not allow ec2' } });
      }
      return out;
    },
  });
  expect(run.status).toBe('FAILED');
  expect(run.path).toContain('Copying the image failed');
  expect(run.path).not.toContain("Roll the wave's clusters");
  expect(world.aws.mutations.filter((m) => m.kind === 'update-stack')).toEqual([]);
  const [message] = world.aws.published;
  expect(message!.attributes).toMatchObject({ status: 'FAILED', step: 'copy' });
  expect(message!.message).toContain('the key policy does not allow ec2');
});

it('copies in a dry run too: a first deployment in each region needs ami/latest there', async () => {
  const world = setUp([{ region: 'eu-west-1' }]);
  const run = await world.run({ trigger: 'manual', dryRun: true }, 'dry');
  expect(run.path.at(-1)).toBe('Image baked (dry run)');
  expect(world.aws.value(`eu-west-1:${names.latestAmi}`)).toBe(world.aws.copyCalls[0]!.imageId);
});

describe('a cluster target in another region', () => {
  it('rolls with the copy there, records the region and what it is a copy of, and lets the image be promoted', async () => {
    process.env[LAMBDA_ENV.copyToRegions] = JSON.stringify([{ region: 'eu-west-1' }]);
    const waves = [
      { name: 'dev', clusters: [target('dev-ecs')] },
      { name: 'prod', clusters: [target('prod-a-ecs'), { ...target('prod-eu-ecs'), region: 'eu-west-1' }] },
    ];
    const world = new ModelWorld({ waves });
    worlds.push(world);
    const run = await world.run({ trigger: 'weekly' }, 'regional');
    const [ami] = world.baked;
    const copy = world.aws.copyCalls[0]!.imageId!;
    expect(run.status).toBe('SUCCEEDED');
    expect(run.entered).toContain("Find the cluster's image for its architecture and region");
    expect(world.imageOf('prod-eu-ecs')).toBe(copy);
    expect(world.imageOf('prod-a-ecs')).toBe(ami);
    expect(world.recordOf('prod-eu-ecs')).toMatchObject({ amiId: copy, region: 'eu-west-1', copyOf: ami });
    expect(world.recordOf('prod-a-ecs')).not.toHaveProperty('region');
    // Every cluster confirmed the image, the regional one through its copy.
    expect(world.aws.value(names.currentAmi)).toBe(ami);
  });

  it('stops before touching anything when a target is in a region the image is not copied to', async () => {
    const waves = [{ name: 'prod', clusters: [{ ...target('prod-eu-ecs'), region: 'eu-west-1' }] }];
    const world = new ModelWorld({ waves });
    worlds.push(world);
    const run = await world.run({ trigger: 'weekly' }, 'not-copied');
    expect(run.path).toContain('A cluster target is not ready');
    expect(world.bakeCalls).toEqual([]);
    expect(world.aws.published[0]!.message).toContain('prod-eu-ecs is in eu-west-1, which the image is not copied to: add eu-west-1 to the copyToRegions param');
  });
});

describe('a cluster of another architecture', () => {
  const waves = () => [
    { name: 'dev', clusters: [target('dev-ecs')] },
    { name: 'prod', clusters: [target('prod-a-ecs'), { ...target('prod-arm-ecs'), architecture: 'arm64' as const }] },
  ];

  it('gets an image baked for it in the same run, in parallel, rolls with it, and lets the stage image be promoted', async () => {
    const world = new ModelWorld({ waves: waves() });
    worlds.push(world);
    const run = await world.run({ trigger: 'weekly' }, 'two-archs');
    expect(run.status).toBe('SUCCEEDED');
    expect(world.bakeCalls).toHaveLength(2);
    const armCall = world.bakeCalls.find((c) => c.EnvironmentVariablesOverride.some((v) => v.Name === 'ARCHITECTURE'))!;
    expect(Object.fromEntries(armCall.EnvironmentVariablesOverride.map((v) => [v.Name, v.Value]))).toMatchObject({
      SOURCE_AMI: NEW_ARM_BASE,
      ARCHITECTURE: 'arm64',
      BUILD_INSTANCE_TYPE: 't4g.medium',
      BUILD_ID: 'two-archs',
    });
    const [x86, arm] = world.baked;
    expect(world.aws.value(names.latestAmi)).toBe(x86);
    expect(world.aws.value(names.latestAmiFor('arm64'))).toBe(arm);
    expect(world.imageOf('prod-arm-ecs')).toBe(arm);
    expect(world.imageOf('prod-a-ecs')).toBe(x86);
    expect(world.recordOf('prod-arm-ecs')).toMatchObject({ amiId: arm, copyOf: x86 });
    expect(world.aws.value(names.currentAmi)).toBe(x86);
    expect(world.aws.value(names.currentAmiFor('arm64'))).toBe(arm);
  });

  it('rolls back with the image baked for it by the run it goes back to', async () => {
    const world = new ModelWorld({ waves: waves() });
    worlds.push(world);
    await world.run({ trigger: 'weekly' }, 'first');
    const [x86First, armFirst] = world.baked;
    await world.run({ trigger: 'weekly' }, 'second');
    expect(world.imageOf('prod-arm-ecs')).toBe(world.baked[3]);
    const back = await world.run({ trigger: 'manual', rollback: {} }, 'back');
    expect(back.status).toBe('SUCCEEDED');
    expect(world.imageOf('prod-a-ecs')).toBe(x86First);
    expect(world.imageOf('prod-arm-ecs')).toBe(armFirst);
    // The rollback promotes the first run's images again, every architecture's.
    expect(world.aws.value(names.currentAmi)).toBe(x86First);
    expect(world.aws.value(names.currentAmiFor('arm64'))).toBe(armFirst);
  });

  it('bakes only the stage\'s architecture when the run rolls no cluster of another', async () => {
    const world = new ModelWorld({ waves: waves() });
    worlds.push(world);
    await world.run({ trigger: 'manual', clusters: ['dev-ecs'] }, 'dev-only');
    expect(world.bakeCalls).toHaveLength(1);
  });
});
