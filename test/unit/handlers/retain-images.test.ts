import { AutoScalingClient, DescribeAutoScalingGroupsCommand, type AutoScalingGroup } from '@aws-sdk/client-auto-scaling';
import {
  CloudFormationClient,
  CloudFormationServiceException,
  DescribeStackResourcesCommand,
  DescribeStacksCommand,
} from '@aws-sdk/client-cloudformation';
import {
  DeleteKeyPairCommand,
  DeleteSecurityGroupCommand,
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeKeyPairsCommand,
  DescribeLaunchTemplateVersionsCommand,
  DescribeSecurityGroupsCommand,
  DescribeSnapshotsCommand,
  EC2Client,
  EC2ServiceException,
  EnableImageDeprecationCommand,
  type Filter,
  type Image,
  type Instance,
  type Snapshot,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { DescribeExecutionCommand, ListExecutionsCommand, SFNClient, SFNServiceException } from '@aws-sdk/client-sfn';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import {
  GetParameterCommand,
  GetParameterHistoryCommand,
  GetParametersByPathCommand,
  ParameterNotFound,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { AMI_TAGS, BAKE_INSTANCE_PURPOSE, BAKE_INSTANCE_TAGS, LAMBDA_ENV, MANAGED_BY_VALUE, parameterNames } from '../../../functions/lib/contracts';
import { handler, type RetainImagesResult } from '../../../functions/retain-images/handler';
import { caught, freezeTime, useEnv } from './env';

const ec2Mock = mockClient(EC2Client);
const ssmMock = mockClient(SSMClient);
const cfnMock = mockClient(CloudFormationClient);
const asgMock = mockClient(AutoScalingClient);
const sfnMock = mockClient(SFNClient);
const snsMock = mockClient(SNSClient);

const STAGE = 'prod';
const PREFIX = '/ecs-ami-pipeline/prod';
const NAMES = parameterNames(PREFIX);
const MACHINE = 'arn:aws:states:eu-west-1:123456789012:stateMachine:ecs-ami-pipeline-prod';
const EXEC = (name: string) => `arn:aws:states:eu-west-1:123456789012:execution:ecs-ami-pipeline-prod:${name}`;
const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:ecs-ami-pipeline-prod-notifications';
const NAME_PREFIX = 'ecs-ami-pipeline-prod';
const STACK = 'ecs-dev';
const WAVES = [{ name: 'dev', clusters: [{ stackName: STACK, clusterName: 'ecs-dev', imageParameter: 'ApplicationImageId' }] }];
// Not on a whole minute, so the deprecation time's rounding shows.
const NOW = '2026-03-10T12:00:30.500Z';
const DAY = 86_400_000;
const HOUR = 3_600_000;

/** EC2-shaped ids: a prefix and 17 hex digits. */
const hex17 = (c: string) => `0${c.repeat(16).slice(0, 16)}`;
const amiId = (c: string) => `ami-${hex17(c)}`;
const snapId = (c: string) => `snap-${hex17(c)}`;
const instanceId = (c: string) => `i-${hex17(c)}`;

const CURRENT = amiId('c');
const UNUSED = amiId('a');
const CANDIDATE = amiId('b');
const OLD_PROMOTED = amiId('d');
const OTHER_STAGE = amiId('e');
const LOOKALIKE = amiId('f');
const UNUSED_ROOT = snapId('a1');
const UNUSED_DATA = snapId('a2');
const UNUSED_SNAPSHOTS = [UNUSED_ROOT, UNUSED_DATA];
const OTHER_STAGE_SNAPSHOT = snapId('e1');
const SNAPSHOTS: Record<string, string[]> = {
  [CURRENT]: [snapId('c1')],
  [UNUSED]: UNUSED_SNAPSHOTS,
  [CANDIDATE]: [snapId('b1')],
  [OLD_PROMOTED]: [snapId('d1')],
  [OTHER_STAGE]: [OTHER_STAGE_SNAPSHOT],
  [LOOKALIKE]: [snapId('f1')],
};

const ago = (ms: number) => new Date(new Date(NOW).getTime() - ms);

interface ImageSpec {
  id: string;
  daysOld: number;
  stage?: string;
  managedBy?: string;
  buildId?: string;
  deprecated?: boolean;
  /** Without any of the pipeline's tags (only a Name tag). */
  untagged?: boolean;
  /** Without the ManagedBy or the PipelineStage tag, the others there. */
  without?: 'managedBy' | 'stage';
}

function image(spec: ImageSpec): Image {
  const created = ago(spec.daysOld * DAY);
  const stamp = created.toISOString().replace(/\D/g, '').slice(0, 14);
  const stage = spec.stage ?? STAGE;
  return {
    ImageId: spec.id,
    Name: `ecs-ami-pipeline-${stage}-${stamp}`,
    Architecture: 'x86_64',
    CreationDate: created.toISOString(),
    State: 'available',
    ...(spec.deprecated ? { DeprecationTime: ago(DAY).toISOString() } : {}),
    BlockDeviceMappings: (SNAPSHOTS[spec.id] ?? []).map((snapshot, i) => ({
      DeviceName: i === 0 ? '/dev/xvda' : `/dev/xvd${'bcdefgh'[i - 1]}`,
      Ebs: { SnapshotId: snapshot, VolumeSize: 30 },
    })),
    Tags: spec.untagged
      ? [{ Key: AMI_TAGS.name, Value: 'from before PipelineStage' }]
      : [
          { Key: AMI_TAGS.managedBy, Value: spec.managedBy ?? MANAGED_BY_VALUE },
          { Key: AMI_TAGS.stage, Value: stage },
          { Key: AMI_TAGS.buildId, Value: spec.buildId ?? `weekly-${spec.id.slice(-4)}` },
          { Key: AMI_TAGS.ecsAgentVersion, Value: '1.90.0' },
          { Key: AMI_TAGS.sourceAmiId, Value: amiId('9') },
        ].filter((t) => !(spec.without && t.Key === AMI_TAGS[spec.without])),
  };
}

/** A snapshot as DescribeSnapshots answers it, tagged like the template's snapshot_tags. */
function snapshot(id: string, daysOld: number, extra: { stage?: string; managedBy?: string; sizeGiB?: number } = {}): Snapshot {
  return {
    SnapshotId: id,
    OwnerId: '123456789012',
    StartTime: ago(daysOld * DAY),
    State: 'completed',
    VolumeSize: extra.sizeGiB ?? 30,
    Tags: [
      { Key: AMI_TAGS.managedBy, Value: extra.managedBy ?? MANAGED_BY_VALUE },
      { Key: AMI_TAGS.stage, Value: extra.stage ?? STAGE },
    ],
  };
}

interface World {
  /** Every image the account owns: the stage's, other stages', untagged ones. DescribeImages applies its filters to them. */
  images: Image[];
  /** What DescribeSnapshots answers (like an emulator: the filters are ignored, the handler checks the tags). */
  snapshots: Snapshot[];
  parameters: Record<string, string>;
  /** ami/current's values, oldest first. */
  history: string[];
  /** Cluster records under <prefix>/clusters/, by stack: the confirmed AMI. */
  clusterRecords: Record<string, string>;
  stackImage: string | undefined;
  groups: string[];
  launchTemplateImage: string | undefined;
  instances: Instance[];
  bakeInstances: Instance[];
  runs: { name: string; input: string }[];
}

let world: World;

function defaultWorld(): World {
  return {
    images: [image({ id: CURRENT, daysOld: 20 }), image({ id: UNUSED, daysOld: 40 }), image({ id: OTHER_STAGE, daysOld: 90, stage: 'staging' })],
    snapshots: [],
    parameters: { [NAMES.currentAmi]: CURRENT, [NAMES.latestAmi]: CURRENT },
    history: [],
    clusterRecords: {},
    stackImage: CURRENT,
    groups: [],
    launchTemplateImage: undefined,
    instances: [],
    bakeInstances: [],
    runs: [],
  };
}

const notFound = () => new ParameterNotFound({ message: 'Parameter not found', $metadata: {} });
const ec2Error = (name: string, message = name) => new EC2ServiceException({ name, $fault: 'client', $metadata: {}, message });

function filterValues(filters: { Name?: string; Values?: string[] }[] | undefined, name: string): string[] | undefined {
  return filters?.find((f) => f.Name === name)?.Values;
}

/** EC2's filter semantics for the filters an image lookup could send: tag:<key> and name (with * wildcards). */
function matchesFilters(image: Image, filters: Filter[] | undefined): boolean {
  const wildcard = (pattern: string) => new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return (filters ?? []).every(({ Name, Values = [] }) => {
    if (Name === 'name') return Values.some((v) => wildcard(v).test(image.Name ?? ''));
    if (Name?.startsWith('tag:')) return Values.includes(image.Tags?.find((t) => t.Key === Name.slice(4))?.Value ?? '\u0000');
    throw new Error(`the DescribeImages mock does not know the filter ${Name}`);
  });
}

function bakeInstance(id: string, hoursOld: number, extra: { stage?: string; buildId?: string; state?: string } = {}): Instance {
  return {
    InstanceId: id,
    ImageId: amiId('9'),
    LaunchTime: ago(hoursOld * HOUR),
    State: { Name: (extra.state ?? 'stopped') as 'stopped' },
    Tags: [
      { Key: BAKE_INSTANCE_TAGS.managedBy, Value: MANAGED_BY_VALUE },
      { Key: BAKE_INSTANCE_TAGS.stage, Value: extra.stage ?? STAGE },
      { Key: BAKE_INSTANCE_TAGS.purpose, Value: BAKE_INSTANCE_PURPOSE },
      { Key: BAKE_INSTANCE_TAGS.buildId, Value: extra.buildId ?? 'weekly-abandoned' },
    ],
  };
}

function changeCalls(): number {
  return (
    ec2Mock.commandCalls(DeregisterImageCommand).length +
    ec2Mock.commandCalls(DeleteSnapshotCommand).length +
    ec2Mock.commandCalls(EnableImageDeprecationCommand).length +
    ec2Mock.commandCalls(TerminateInstancesCommand).length
  );
}

function deregistered(): string[] {
  return ec2Mock.commandCalls(DeregisterImageCommand).map((c) => c.args[0].input.ImageId!);
}

function deletedSnapshots(): string[] {
  return ec2Mock.commandCalls(DeleteSnapshotCommand).map((c) => c.args[0].input.SnapshotId!);
}

function published() {
  return snsMock.commandCalls(PublishCommand).map((c) => c.args[0].input);
}

/** The one message published (fails the test unless exactly one was). */
function onlyMessage() {
  const all = published();
  expect(all).toHaveLength(1);
  return all[0]!;
}

function statusOf(publish: ReturnType<typeof published>[number]): string | undefined {
  return publish.MessageAttributes?.status?.StringValue;
}

/** Every id any change command named: images, snapshots, instances. */
function everyChangedId(): string[] {
  return [
    ...deregistered(),
    ...deletedSnapshots(),
    ...ec2Mock.commandCalls(EnableImageDeprecationCommand).map((c) => c.args[0].input.ImageId!),
    ...ec2Mock.commandCalls(TerminateInstancesCommand).flatMap((c) => c.args[0].input.InstanceIds ?? []),
  ];
}

const keptReasons = (result: RetainImagesResult, id: string) => result.kept.find((k) => k.imageId === id)?.reasons ?? [];

useEnv({
  AWS_REGION: 'eu-west-1',
  [LAMBDA_ENV.stage]: STAGE,
  [LAMBDA_ENV.parameterPrefix]: PREFIX,
  [LAMBDA_ENV.clusterWaves]: JSON.stringify(WAVES),
  [LAMBDA_ENV.stateMachineArn]: MACHINE,
  [LAMBDA_ENV.topicArn]: TOPIC,
  [LAMBDA_ENV.amiNamePrefix]: NAME_PREFIX,
  [LAMBDA_ENV.serviceName]: undefined,
  [LAMBDA_ENV.imageRetention]: undefined,
  [LAMBDA_ENV.retainPromotedImages]: undefined,
  [LAMBDA_ENV.retentionGraceDays]: undefined,
  [LAMBDA_ENV.bakeLeftoverHours]: undefined,
});

beforeEach(() => {
  for (const mock of [ec2Mock, ssmMock, cfnMock, asgMock, sfnMock, snsMock]) mock.reset();
  freezeTime(NOW);
  world = defaultWorld();

  ec2Mock.on(DescribeImagesCommand).callsFake(({ Filters }) => ({ Images: world.images.filter((i) => matchesFilters(i, Filters)) }));
  ec2Mock.on(DescribeSnapshotsCommand).callsFake(() => ({ Snapshots: world.snapshots }));
  // Packer's temporary groups and key pairs: none unless a test adds them.
  ec2Mock.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [] });
  ec2Mock.on(DescribeKeyPairsCommand).resolves({ KeyPairs: [] });
  ec2Mock.on(DescribeInstancesCommand).callsFake(({ Filters }) => {
    const instances = filterValues(Filters, `tag:${BAKE_INSTANCE_TAGS.purpose}`) ? world.bakeInstances : world.instances;
    return { Reservations: instances.length ? [{ Instances: instances }] : [] };
  });
  ec2Mock.on(DescribeLaunchTemplateVersionsCommand).callsFake(({ LaunchTemplateId, Versions }) => ({
    LaunchTemplateVersions: [
      { LaunchTemplateId, LaunchTemplateName: 'ecs-dev-template', VersionNumber: Number(Versions?.[0]), LaunchTemplateData: { ImageId: world.launchTemplateImage } },
    ],
  }));
  ec2Mock.on(DeregisterImageCommand).callsFake(({ ImageId }) => ({
    Return: true,
    DeleteSnapshotResults: (SNAPSHOTS[ImageId] ?? []).map((SnapshotId) => ({ SnapshotId, ReturnCode: 'success' })),
  }));
  ec2Mock.on(DeleteSnapshotCommand).resolves({});
  ec2Mock.on(EnableImageDeprecationCommand).resolves({ Return: true });
  ec2Mock.on(TerminateInstancesCommand).callsFake(({ InstanceIds }) => ({
    TerminatingInstances: (InstanceIds ?? []).map((InstanceId: string) => ({ InstanceId, CurrentState: { Name: 'shutting-down', Code: 32 } })),
  }));

  ssmMock.on(GetParameterCommand).callsFake(({ Name }) => {
    if (!(Name in world.parameters)) throw notFound();
    return { Parameter: { Name, Value: world.parameters[Name] } };
  });
  ssmMock.on(GetParameterHistoryCommand).callsFake(({ Name }) => {
    if (Name !== NAMES.currentAmi || !world.history.length) throw notFound();
    return { Parameters: world.history.map((Value, i) => ({ Name, Value, Version: i + 1, LastModifiedDate: ago((world.history.length - i) * DAY) })) };
  });
  ssmMock.on(GetParametersByPathCommand).callsFake(() => ({
    Parameters: Object.entries(world.clusterRecords).map(([stackName, amiId]) => ({
      Name: NAMES.clusterRecord(stackName),
      Value: JSON.stringify({ stackName, clusterName: stackName, amiId, purpose: 'rollout', runId: 'weekly-1', executionArn: EXEC('weekly-1'), confirmedAt: ago(DAY).toISOString() }),
    })),
  }));

  cfnMock.on(DescribeStacksCommand).callsFake(({ StackName }) => ({
    Stacks: [
      {
        StackName,
        StackStatus: 'UPDATE_COMPLETE',
        CreationTime: ago(300 * DAY),
        Parameters: [
          ...(world.stackImage ? [{ ParameterKey: 'ApplicationImageId', ParameterValue: world.stackImage }] : []),
          { ParameterKey: 'InstanceType', ParameterValue: 'm7i.large' },
        ],
      },
    ],
  }));
  cfnMock.on(DescribeStackResourcesCommand).callsFake(({ StackName }) => ({
    StackResources: [
      { StackName, LogicalResourceId: 'Cluster', PhysicalResourceId: 'ecs-dev', ResourceType: 'AWS::ECS::Cluster', ResourceStatus: 'UPDATE_COMPLETE', Timestamp: ago(DAY) },
      ...world.groups.map((group) => ({
        StackName,
        LogicalResourceId: 'AutoScalingGroup',
        PhysicalResourceId: group,
        ResourceType: 'AWS::AutoScaling::AutoScalingGroup',
        ResourceStatus: 'UPDATE_COMPLETE',
        Timestamp: ago(DAY),
      })),
    ],
  }));
  asgMock.on(DescribeAutoScalingGroupsCommand).callsFake(({ AutoScalingGroupNames }) => ({
    AutoScalingGroups: (AutoScalingGroupNames ?? []).map(
      (name: string) => ({ AutoScalingGroupName: name, LaunchTemplate: { LaunchTemplateId: 'lt-0123456789abcdef0', Version: '7' } }) as AutoScalingGroup,
    ),
  }));

  sfnMock.on(ListExecutionsCommand).callsFake(() => ({
    executions: world.runs.map((r) => ({ executionArn: EXEC(r.name), stateMachineArn: MACHINE, name: r.name, status: 'RUNNING', startDate: ago(HOUR) })),
  }));
  sfnMock.on(DescribeExecutionCommand).callsFake(({ executionArn }) => {
    const run = world.runs.find((r) => EXEC(r.name) === executionArn);
    return { executionArn, stateMachineArn: MACHINE, status: 'RUNNING', startDate: ago(HOUR), input: run?.input ?? '{}' };
  });

  snsMock.on(PublishCommand).resolves({ MessageId: 'message-1' });
});

afterEach(() => {
  // Another stage's image is never touched, whatever the test did.
  expect(everyChangedId()).not.toContain(OTHER_STAGE);
  expect(everyChangedId()).not.toContain(OTHER_STAGE_SNAPSHOT);
  jest.useRealTimers();
});

describe('the fixture', () => {
  it('uses EC2-shaped ids', () => {
    for (const id of [CURRENT, UNUSED, CANDIDATE, OLD_PROMOTED, OTHER_STAGE, LOOKALIKE]) expect(id).toMatch(/^ami-[0-9a-f]{17}$/);
    expect(snapId('a1')).toMatch(/^snap-[0-9a-f]{17}$/);
    expect(instanceId('1')).toMatch(/^i-[0-9a-f]{17}$/);
  });
});

describe('delete mode', () => {
  it('deletes a finished bake’s security group and key pair, and leaves a group still attached for the next pass', async () => {
    const tags = (buildId: string) => [
      { Key: 'ManagedBy', Value: 'ecs-ami-pipeline' },
      { Key: 'PipelineStage', Value: STAGE },
      { Key: 'Purpose', Value: 'ami-bake' },
      { Key: 'BuildId', Value: buildId },
    ];
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves({
      SecurityGroups: [
        { GroupId: 'sg-0aaaaaaaaaaaaaaaa', Tags: tags('weekly-1') },
        { GroupId: 'sg-0bbbbbbbbbbbbbbbb', Tags: tags('weekly-1') },
        { GroupId: 'sg-0cccccccccccccccc', Tags: [{ Key: 'ManagedBy', Value: 'ecs-ami-pipeline' }, { Key: 'PipelineStage', Value: 'staging' }, { Key: 'Purpose', Value: 'ami-bake' }] },
      ],
    });
    ec2Mock.on(DescribeKeyPairsCommand).resolves({ KeyPairs: [{ KeyName: 'packer_0weekly1', Tags: tags('weekly-1') }] });
    ec2Mock.on(DeleteSecurityGroupCommand, { GroupId: 'sg-0bbbbbbbbbbbbbbbb' }).rejects(new EC2ServiceException({ name: 'DependencyViolation', $fault: 'client', $metadata: {}, message: 'in use' }));
    ec2Mock.on(DeleteSecurityGroupCommand, { GroupId: 'sg-0aaaaaaaaaaaaaaaa' }).resolves({});
    ec2Mock.on(DeleteKeyPairCommand).resolves({});
    const result = await handler({});
    expect(result.bakeResourcesDeleted).toEqual(['sg-0aaaaaaaaaaaaaaaa', 'packer_0weekly1']);
    expect(result.warnings).toEqual(['delete security-group sg-0bbbbbbbbbbbbbbbb: still in use (its instance is shutting down); the next pass deletes it']);
    // Another stage's group is never touched.
    expect(ec2Mock).not.toHaveReceivedCommandWith(DeleteSecurityGroupCommand, { GroupId: 'sg-0cccccccccccccccc' });
    expect(ec2Mock).toHaveReceivedCommandWith(DeleteKeyPairCommand, { KeyName: 'packer_0weekly1' });
  });

  it('deregisters an old unused image of the stage with its snapshots, and leaves the rest alone', async () => {
    const result = await handler({});

    expect(ec2Mock).toHaveReceivedCommandTimes(DeregisterImageCommand, 1);
    expect(ec2Mock).toHaveReceivedCommandWith(DeregisterImageCommand, { ImageId: UNUSED, DeleteAssociatedSnapshots: true });
    // The answer reported both snapshots deleted: none is deleted again.
    expect(ec2Mock).not.toHaveReceivedCommand(DeleteSnapshotCommand);
    expect(result).toMatchObject({
      mode: 'delete',
      status: 'CLEANED_UP',
      deregistered: [UNUSED],
      wouldDeregister: [{ imageId: UNUSED, why: 'never promoted; 40 days old, in use by nothing' }],
      failures: [],
      warnings: [],
      notified: true,
    });
    expect(result.kept.map((k) => k.imageId)).toEqual([CURRENT]);
    expect(result.kept.map((k) => k.imageId)).not.toContain(OTHER_STAGE);
    expect(result.wouldDeregister.map((w) => w.imageId)).not.toContain(OTHER_STAGE);
  });

  it('asks EC2 once for every image the account owns, deprecated ones included, and picks the stage images by the contract tags', async () => {
    await handler({});

    // One call without filters: the stage's images, the lookalikes and every snapshot any image names come from it.
    expect(ec2Mock).toHaveReceivedCommandTimes(DescribeImagesCommand, 1);
    const request = ec2Mock.commandCalls(DescribeImagesCommand)[0]!.args[0].input;
    expect(request).toMatchObject({ Owners: ['self'], IncludeDeprecated: true });
    expect(request.Filters ?? []).toEqual([]);
    expect(request.ImageIds).toBeUndefined();
    // Instances are looked up for this stage's images only.
    const byImage = ec2Mock.commandCalls(DescribeInstancesCommand).map((c) => c.args[0].input).find((i) => filterValues(i.Filters, 'image-id'));
    expect([...(filterValues(byImage?.Filters, 'image-id') ?? [])].sort()).toEqual([CURRENT, UNUSED].sort());
  });

  it('does not touch an image tagged for the stage by another tool (ManagedBy differs)', async () => {
    const foreign = amiId('7');
    world.images.push(image({ id: foreign, daysOld: 200, managedBy: 'someone-else' }));

    const result = await handler({});

    expect(deregistered()).toEqual([UNUSED]);
    expect(result.kept.map((k) => k.imageId)).not.toContain(foreign);
  });

  it('reports untagged images named like the stage and never deletes them', async () => {
    world.images.push({ ...image({ id: LOOKALIKE, daysOld: 400, untagged: true }), Name: `${NAME_PREFIX}-20250101000000` });

    await handler({});

    expect(everyChangedId()).not.toContain(LOOKALIKE);
    expect(everyChangedId()).not.toContain(snapId('f1'));
    expect(deregistered()).toEqual([UNUSED]);
    const message = onlyMessage();
    expect(message.Message).toContain(
      "\nNamed like this stage's images but without its ManagedBy/PipelineStage tags (not deleted; retention may only delete tagged images):\n" +
        `  - ${LOOKALIKE} ${NAME_PREFIX}-20250101000000 (x86_64, created 2025-02-03, 30 GiB)\n`,
    );
  });

  it.each(['managedBy', 'stage'] as const)('reports an image named like the stage that lacks only the %s tag as untagged, and never deletes it', async (without) => {
    world.images.push(image({ id: LOOKALIKE, daysOld: 400, without }));

    const result = await handler({});

    expect(everyChangedId()).not.toContain(LOOKALIKE);
    expect(result.kept.map((k) => k.imageId)).not.toContain(LOOKALIKE);
    expect(result.wouldDeregister.map((w) => w.imageId)).not.toContain(LOOKALIKE);
    const message = onlyMessage().Message!;
    expect(message.slice(message.indexOf('Named like this stage'))).toContain(LOOKALIKE);
  });

  it("does not report another stage's correctly tagged image as untagged, even when its name starts with this stage's prefix", async () => {
    // Stage prod-eu's images are named ecs-ami-pipeline-prod-eu-...: they start with `${NAME_PREFIX}-`.
    const PROD_EU = amiId('8');
    world.images.push(image({ id: PROD_EU, daysOld: 400, stage: 'prod-eu' }));
    expect(world.images.at(-1)!.Name!.startsWith(`${NAME_PREFIX}-`)).toBe(true);

    const result = await handler({});

    expect(everyChangedId()).not.toContain(PROD_EU);
    expect(deregistered()).toEqual([UNUSED]);
    expect(result.kept.map((k) => k.imageId)).not.toContain(PROD_EU);
    const message = onlyMessage().Message!;
    expect(message).not.toContain(PROD_EU);
    expect(message).not.toContain('without its ManagedBy/PipelineStage tags');
  });

  it('deletes a snapshot itself when the answer does not report it deleted', async () => {
    const [first, second] = [UNUSED_ROOT, UNUSED_DATA];
    ec2Mock.on(DeregisterImageCommand).resolves({ Return: true, DeleteSnapshotResults: [{ SnapshotId: first, ReturnCode: 'success' }, { SnapshotId: second, ReturnCode: 'skipped' }] });

    const result = await handler({});

    expect(deletedSnapshots()).toEqual([second]);
    expect(result.status).toBe('CLEANED_UP');
  });

  it('deletes each snapshot when the answer has no DeleteSnapshotResults (an emulator or older endpoint)', async () => {
    ec2Mock.on(DeregisterImageCommand).resolves({ Return: true });

    const result = await handler({});

    expect(deletedSnapshots()).toEqual(UNUSED_SNAPSHOTS);
    expect(result).toMatchObject({ status: 'CLEANED_UP', deregistered: [UNUSED], failures: [] });
    expect(onlyMessage().Message).toContain(`snapshots deleted: ${UNUSED_SNAPSHOTS.join(', ')}`);
  });

  it('counts a snapshot that is already gone (InvalidSnapshot.NotFound) as deleted', async () => {
    const [first, second] = [UNUSED_ROOT, UNUSED_DATA];
    ec2Mock.on(DeregisterImageCommand).resolves({ Return: true });
    ec2Mock.on(DeleteSnapshotCommand, { SnapshotId: first }).rejects(ec2Error('InvalidSnapshot.NotFound', `The snapshot '${first}' does not exist.`));

    const result = await handler({});

    expect(deletedSnapshots()).toEqual([first, second]);
    expect(result).toMatchObject({ status: 'CLEANED_UP', deregistered: [UNUSED], failures: [] });
    expect(statusOf(onlyMessage())).toBe('CLEANED_UP');
    expect(onlyMessage().Message).toContain(`snapshots deleted: ${first}, ${second}`);
  });

  it('finishes the snapshots of an image a previous pass already deregistered (InvalidAMIID.NotFound)', async () => {
    ec2Mock.on(DeregisterImageCommand).rejects(ec2Error('InvalidAMIID.NotFound', `The image id '[${UNUSED}]' does not exist`));

    const result = await handler({});

    expect(ec2Mock).toHaveReceivedCommandWith(DeregisterImageCommand, { ImageId: UNUSED, DeleteAssociatedSnapshots: true });
    expect(deletedSnapshots()).toEqual(UNUSED_SNAPSHOTS);
    expect(result).toMatchObject({ status: 'CLEANED_UP', deregistered: [UNUSED], failures: [] });
  });

  it('reports a deregistration EC2 refuses as FAILED without throwing, and goes on with the others', async () => {
    world.images.push(image({ id: CANDIDATE, daysOld: 50 }));
    ec2Mock.on(DeregisterImageCommand, { ImageId: UNUSED }).rejects(ec2Error('UnauthorizedOperation', 'You are not authorized to perform this operation.'));

    const result = await handler({});

    expect(deregistered().sort()).toEqual([UNUSED, CANDIDATE].sort());
    expect(result.status).toBe('FAILED');
    expect(result.deregistered).toEqual([CANDIDATE]);
    expect(result.failures).toEqual([`deregister ${UNUSED}: UnauthorizedOperation: You are not authorized to perform this operation.`]);
    expect(published()).toHaveLength(1);
    expect(statusOf(onlyMessage())).toBe('FAILED');
    // The message counts and lists what went, not what was planned.
    const message = onlyMessage().Message!;
    expect(message.split('\n')[0]).toBe('ecs-ami-pipeline prod (eu-west-1): image retention deregistered 1 image (30 GiB of snapshots), 1 change failed.');
    const section = message.slice(message.indexOf('Deregistered, with their snapshots:'), message.indexOf('Kept:'));
    expect(section).toContain(CANDIDATE);
    expect(section).not.toContain(UNUSED);
  });

  it('says it deregistered 0 images when EC2 refused the only one (UnauthorizedOperation), and does not list it as deregistered', async () => {
    ec2Mock.on(DeregisterImageCommand).rejects(ec2Error('UnauthorizedOperation', 'You are not authorized to perform this operation.'));

    const result = await handler({});

    expect(result).toMatchObject({ status: 'FAILED', deregistered: [], failures: [`deregister ${UNUSED}: UnauthorizedOperation: You are not authorized to perform this operation.`] });
    expect(ec2Mock).not.toHaveReceivedCommand(DeleteSnapshotCommand);
    const message = onlyMessage();
    expect(statusOf(message)).toBe('FAILED');
    expect(message.Message!.split('\n')[0]).toBe('ecs-ami-pipeline prod (eu-west-1): image retention deregistered 0 images (0 GiB of snapshots), 1 change failed.');
    expect(message.Message).not.toContain('Deregistered');
    // Named once: in its failure line.
    expect(message.Message!.split(UNUSED)).toHaveLength(2);
    expect(message.Message).toContain(`\nFailed (the next pass tries again):\n  - deregister ${UNUSED}: UnauthorizedOperation`);
  });
});

describe('snapshots left behind', () => {
  const ORPHAN = snapId('0a');

  it('reviewer bug 1: a snapshot that could not be deleted does not undo the deregistration, and the next pass deletes it as an orphan', async () => {
    // Pass 1: the stage's snapshots as DescribeSnapshots lists them: all named by an image.
    world.snapshots = [snapshot(UNUSED_ROOT, 40), snapshot(UNUSED_DATA, 40), snapshot(snapId('c1'), 20)];
    ec2Mock.on(DeregisterImageCommand).resolves({
      Return: true,
      DeleteSnapshotResults: [
        { SnapshotId: UNUSED_ROOT, ReturnCode: 'success' },
        { SnapshotId: UNUSED_DATA, ReturnCode: 'internal-error' },
      ],
    });
    ec2Mock.on(DeleteSnapshotCommand, { SnapshotId: UNUSED_DATA }).rejects(ec2Error('InternalError', 'An internal error has occurred.'));

    const first = await handler({});

    expect(deregistered()).toEqual([UNUSED]);
    expect(deletedSnapshots()).toEqual([UNUSED_DATA]);
    const why = 'its deletion failed (InternalError: An internal error has occurred.); the next pass deletes it';
    expect(first).toMatchObject({
      status: 'FAILED',
      deregistered: [UNUSED],
      snapshotsDeleted: [],
      failures: [`delete snapshot ${UNUSED_DATA} of ${UNUSED}: ${why}`],
    });
    const firstMessage = onlyMessage();
    expect(statusOf(firstMessage)).toBe('FAILED');
    // The freed size counts the deregistered image whole (60 GiB), the snapshot it kept included.
    expect(firstMessage.Message!.split('\n')[0]).toBe('ecs-ami-pipeline prod (eu-west-1): image retention deregistered 1 image (60 GiB of snapshots), 1 change failed.');
    expect(firstMessage.Message).toContain(`      snapshots deleted: ${UNUSED_ROOT}\n      snapshot ${UNUSED_DATA} kept: ${why}\n`);

    // Pass 2: the image is gone; its snapshot is still there, tagged as the stage's.
    for (const mock of [ec2Mock, sfnMock, snsMock, ssmMock]) mock.resetHistory();
    world.images = world.images.filter((i) => i.ImageId !== UNUSED);
    world.snapshots = [snapshot(UNUSED_DATA, 40), snapshot(snapId('c1'), 20)];
    ec2Mock.on(DeleteSnapshotCommand, { SnapshotId: UNUSED_DATA }).resolves({});

    const second = await handler({});

    expect(ec2Mock).not.toHaveReceivedCommand(DeregisterImageCommand);
    expect(deletedSnapshots()).toEqual([UNUSED_DATA]);
    expect(second).toMatchObject({ status: 'CLEANED_UP', deregistered: [], snapshotsDeleted: [UNUSED_DATA], failures: [], notified: true });
    const secondMessage = onlyMessage();
    expect(statusOf(secondMessage)).toBe('CLEANED_UP');
    expect(secondMessage.Message!.split('\n')[0]).toBe(
      'ecs-ami-pipeline prod (eu-west-1): image retention deregistered 0 images (30 GiB of snapshots), deleted 1 orphan snapshot.',
    );
    expect(secondMessage.Message).toContain(
      `\nDeleted (snapshots of images already gone):\n  - ${UNUSED_DATA} (30 GiB): no image names it any more (its image was deregistered and the snapshot was left); 40 days old\n`,
    );
  });

  it('asks EC2 for the snapshots this account owns by the contract tags', async () => {
    await handler({});

    expect(ec2Mock).toHaveReceivedCommandTimes(DescribeSnapshotsCommand, 1);
    const request = ec2Mock.commandCalls(DescribeSnapshotsCommand)[0]!.args[0].input;
    expect(request.OwnerIds).toEqual(['self']);
    expect(filterValues(request.Filters, 'tag:ManagedBy')).toEqual(['ecs-ami-pipeline']);
    expect(filterValues(request.Filters, 'tag:PipelineStage')).toEqual([STAGE]);
  });

  it('deletes an orphan snapshot of the stage older than the grace period, also when it is all there is to do', async () => {
    world.images = world.images.filter((i) => i.ImageId !== UNUSED);
    world.snapshots = [snapshot(ORPHAN, 30, { sizeGiB: 8 }), snapshot(snapId('c1'), 20)];

    const result = await handler({});

    expect(ec2Mock).toHaveReceivedCommandTimes(DeleteSnapshotCommand, 1);
    expect(ec2Mock).toHaveReceivedCommandWith(DeleteSnapshotCommand, { SnapshotId: ORPHAN });
    expect(ec2Mock).not.toHaveReceivedCommand(DeregisterImageCommand);
    // It re-checked the runs before deleting.
    expect(sfnMock).toHaveReceivedCommandTimes(ListExecutionsCommand, 2);
    expect(result).toMatchObject({ mode: 'delete', status: 'CLEANED_UP', snapshotsDeleted: [ORPHAN], failures: [], notified: true });
    expect(onlyMessage().Message!.split('\n')[0]).toBe('ecs-ami-pipeline prod (eu-west-1): image retention deregistered 0 images (8 GiB of snapshots), deleted 1 orphan snapshot.');
  });

  it("deletes the orphans and the unused image's snapshots each once: the image's go with it", async () => {
    world.snapshots = [snapshot(ORPHAN, 30), snapshot(UNUSED_ROOT, 40), snapshot(UNUSED_DATA, 40), snapshot(snapId('c1'), 20)];

    const result = await handler({});

    expect(deregistered()).toEqual([UNUSED]);
    // DeregisterImage reported UNUSED's snapshots deleted; only the orphan is deleted by itself.
    expect(deletedSnapshots()).toEqual([ORPHAN]);
    expect(result).toMatchObject({ status: 'CLEANED_UP', deregistered: [UNUSED], snapshotsDeleted: [ORPHAN] });
  });

  it("leaves a young orphan, another stage's or tool's snapshot, and a stage-tagged snapshot any image of the account still names", async () => {
    world.images = world.images.filter((i) => i.ImageId !== UNUSED);
    // An untagged image (not the stage's) that names a snapshot tagged as the stage's: a copy, or a bake killed before tagging.
    world.images.push({ ...image({ id: LOOKALIKE, daysOld: 400, untagged: true }), Name: 'hand-made' });
    world.snapshots = [
      snapshot(ORPHAN, 6), // younger than the 7-day grace period: its image may still be registering
      snapshot(snapId('0b'), 90, { stage: 'staging' }), // DescribeSnapshots here ignores filters: the tags decide
      snapshot(snapId('0d'), 90, { managedBy: 'someone-else' }),
      snapshot(snapId('f1'), 400), // named by the untagged image
      snapshot(OTHER_STAGE_SNAPSHOT, 90), // named by another stage's image
      snapshot(snapId('c1'), 20), // named by the current image
    ];

    const result = await handler({});

    expect(ec2Mock).not.toHaveReceivedCommand(DeleteSnapshotCommand);
    expect(changeCalls()).toBe(0);
    expect(result).toMatchObject({ status: 'NOTHING_TO_DO', snapshotsDeleted: [], notified: false });
    expect(snsMock).not.toHaveReceivedCommand(PublishCommand);
  });

  it('reports an orphan EC2 refuses to delete as a failure and goes on', async () => {
    const SECOND = snapId('0b');
    world.snapshots = [snapshot(ORPHAN, 30), snapshot(SECOND, 30)];
    ec2Mock.on(DeleteSnapshotCommand, { SnapshotId: ORPHAN }).rejects(ec2Error('UnauthorizedOperation', 'You are not authorized to perform this operation.'));

    const result = await handler({});

    expect(deletedSnapshots()).toEqual([ORPHAN, SECOND]);
    expect(result).toMatchObject({
      status: 'FAILED',
      deregistered: [UNUSED],
      snapshotsDeleted: [SECOND],
      failures: [`delete snapshot ${ORPHAN}: UnauthorizedOperation: You are not authorized to perform this operation.`],
    });
    const message = onlyMessage().Message!;
    expect(message.split('\n')[0]).toBe(
      'ecs-ami-pipeline prod (eu-west-1): image retention deregistered 1 image (90 GiB of snapshots), deleted 1 orphan snapshot, 1 change failed.',
    );
    const section = message.slice(message.indexOf('Deleted (snapshots of images already gone):'), message.indexOf('Kept:'));
    expect(section).toContain(SECOND);
    expect(section).not.toContain(ORPHAN);
  });

  it('counts an orphan already gone (InvalidSnapshot.NotFound) as deleted', async () => {
    world.snapshots = [snapshot(ORPHAN, 30)];
    ec2Mock.on(DeleteSnapshotCommand, { SnapshotId: ORPHAN }).rejects(ec2Error('InvalidSnapshot.NotFound', `The snapshot '${ORPHAN}' does not exist.`));

    const result = await handler({});

    expect(result).toMatchObject({ status: 'CLEANED_UP', snapshotsDeleted: [ORPHAN], failures: [] });
  });

  it('in report mode says which orphans it would delete and deletes none', async () => {
    process.env[LAMBDA_ENV.imageRetention] = 'report';
    world.images = world.images.filter((i) => i.ImageId !== UNUSED);
    world.snapshots = [snapshot(ORPHAN, 30)];

    const result = await handler({});

    expect(changeCalls()).toBe(0);
    expect(result).toMatchObject({ mode: 'report', status: 'WOULD_CLEAN_UP', snapshotsDeleted: [], notified: true });
    const message = onlyMessage();
    expect(statusOf(message)).toBe('WOULD_CLEAN_UP');
    expect(message.Message!.split('\n')[0]).toBe(
      'ecs-ami-pipeline prod (eu-west-1): image retention would deregister 0 images (30 GiB of snapshots), would delete 1 orphan snapshot.',
    );
    expect(message.Message).toContain(`\nWould delete (snapshots of images already gone):\n  - ${ORPHAN} (30 GiB): no image names it any more`);
  });

  it('in a dry run deletes nothing', async () => {
    world.snapshots = [snapshot(ORPHAN, 30)];

    const result = await handler({ dryRun: true });

    expect(changeCalls()).toBe(0);
    expect(result).toMatchObject({ mode: 'dry-run', status: 'WOULD_CLEAN_UP', snapshotsDeleted: [] });
  });
});

describe('images in use are kept', () => {
  const launchTemplateUses = () => {
    world.groups = ['ecs-dev-AutoScalingGroup-1A2B3C'];
    world.launchTemplateImage = CANDIDATE;
  };
  const cases: [string, () => void, string][] = [
    ['ami/current', () => (world.parameters[NAMES.currentAmi] = CANDIDATE), `${PREFIX}/ami/current`],
    ['ami/latest', () => (world.parameters[NAMES.latestAmi] = CANDIDATE), `${PREFIX}/ami/latest`],
    ['a cluster record under clusters/ (also of a stack no longer configured)', () => (world.clusterRecords['ecs-retired'] = CANDIDATE), 'cluster stack ecs-retired confirmed it last'],
    [
      'the image ami/current replaced (its record)',
      () =>
        (world.parameters[NAMES.currentAmiRecord] = JSON.stringify({ amiId: CURRENT, previousAmiId: CANDIDATE, executionArn: EXEC('weekly-1'), promotedAt: NOW, reason: 'rollout', clusters: [STACK] })),
      `the image ${CURRENT} replaced`,
    ],
    ["a configured stack's image parameter", () => (world.stackImage = CANDIDATE), `stack ${STACK} (ApplicationImageId)`],
    [
      "the launch template version a stack's Auto Scaling group launches from",
      launchTemplateUses,
      'launch template ecs-dev-template version 7 of group ecs-dev-AutoScalingGroup-1A2B3C',
    ],
    [
      'a launch template that resolves its image from SSM',
      () => {
        world.groups = ['ecs-dev-AutoScalingGroup-1A2B3C'];
        world.launchTemplateImage = 'resolve:ssm:/ecs-dev/image-id';
        world.parameters['/ecs-dev/image-id'] = CANDIDATE;
      },
      'launch template ecs-dev-template',
    ],
    [
      'a running instance',
      () => (world.instances = [{ InstanceId: instanceId('1'), ImageId: CANDIDATE, State: { Name: 'running', Code: 16 } }]),
      `1 instance (${instanceId('1')})`,
    ],
    [
      'a stopped instance',
      () => (world.instances = [{ InstanceId: instanceId('2'), ImageId: CANDIDATE, State: { Name: 'stopped', Code: 80 } }]),
      `1 instance (${instanceId('2')})`,
    ],
    [
      "a running execution's input",
      () => (world.runs = [{ name: 'rollback-20260310', input: JSON.stringify({ mode: 'rollback', amiId: CANDIDATE, reason: 'bad agent' }) }]),
      'run rollback-20260310, in flight, names it',
    ],
    [
      'the running execution that baked it (BuildId)',
      () => {
        world.images = world.images.map((i) => (i.ImageId === CANDIDATE ? image({ id: CANDIDATE, daysOld: 30, buildId: 'weekly-20260310' }) : i));
        world.runs = [{ name: 'weekly-20260310', input: '{}' }];
      },
      'run weekly-20260310 baked it and is still running',
    ],
  ];

  beforeEach(() => {
    world.images.push(image({ id: CANDIDATE, daysOld: 30 }));
  });

  it('deregisters the candidate when nothing names it (the baseline the cases below change)', async () => {
    const result = await handler({});

    expect(deregistered().sort()).toEqual([UNUSED, CANDIDATE].sort());
    expect(result.wouldDeregister.find((w) => w.imageId === CANDIDATE)?.why).toBe('never promoted; 30 days old, in use by nothing');
  });

  it.each(cases)('keeps an image named by %s', async (_label, setUp, detail) => {
    setUp();

    const result = await handler({});

    expect(deregistered()).toEqual([UNUSED]);
    expect(everyChangedId()).not.toContain(CANDIDATE);
    expect(keptReasons(result, CANDIDATE).join('; ')).toContain(detail);
    expect(result.status).toBe('CLEANED_UP');
  });

  it('reads the launch template version the group names', async () => {
    launchTemplateUses();

    await handler({});

    expect(asgMock).toHaveReceivedCommandWith(DescribeAutoScalingGroupsCommand, { AutoScalingGroupNames: ['ecs-dev-AutoScalingGroup-1A2B3C'] });
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeLaunchTemplateVersionsCommand, { LaunchTemplateId: 'lt-0123456789abcdef0', Versions: ['7'] });
  });

  it('reads the cluster records by path and the runs in flight of the state machine', async () => {
    await handler({});

    expect(ssmMock).toHaveReceivedCommandWith(GetParametersByPathCommand, { Path: expect.stringMatching(/^\/ecs-ami-pipeline\/prod\/clusters\/?$/) });
    expect(sfnMock).toHaveReceivedCommandWith(ListExecutionsCommand, { stateMachineArn: MACHINE, statusFilter: 'RUNNING' });
  });

  it('keeps the recently promoted images, also unused', async () => {
    world.history = [CANDIDATE, CURRENT];

    const result = await handler({});

    expect(deregistered()).toEqual([UNUSED]);
    expect(keptReasons(result, CANDIDATE).join('; ')).toContain('promoted 2 promotions ago');
  });
});

describe('the message', () => {
  it('publishes once, with status CLEANED_UP, the stage and step=retention, when it deregistered something', async () => {
    await handler({});

    expect(snsMock).toHaveReceivedCommandTimes(PublishCommand, 1);
    const message = onlyMessage();
    expect(message.TopicArn).toBe(TOPIC);
    expect(message.MessageAttributes).toEqual({
      status: { DataType: 'String', StringValue: 'CLEANED_UP' },
      stage: { DataType: 'String', StringValue: STAGE },
      step: { DataType: 'String', StringValue: 'retention' },
    });
    expect(message.Subject).toContain('[ecs-ami-pipeline prod] CLEANED UP: ');
    expect(message.Message).toContain(`${UNUSED} `);
    expect(message.Message).toContain('Deregistered, with their snapshots:');
  });

  it('publishes nothing and changes nothing when there is nothing to do', async () => {
    world.images = world.images.filter((i) => i.ImageId !== UNUSED);

    const result = await handler({});

    expect(result).toMatchObject({ mode: 'delete', status: 'NOTHING_TO_DO', deregistered: [], wouldDeregister: [], notified: false });
    expect(changeCalls()).toBe(0);
    expect(snsMock).not.toHaveReceivedCommand(PublishCommand);
    // No second look at the runs: there is nothing to defer.
    expect(sfnMock).toHaveReceivedCommandTimes(ListExecutionsCommand, 1);
  });
});

describe('report mode (IMAGE_RETENTION=report)', () => {
  it('changes nothing and publishes WOULD_CLEAN_UP', async () => {
    process.env[LAMBDA_ENV.imageRetention] = 'report';
    world.images.push(image({ id: OLD_PROMOTED, daysOld: 60 }));
    world.history = [OLD_PROMOTED, CURRENT];
    world.bakeInstances = [bakeInstance(instanceId('b1'), 30)];

    const result = await handler({});

    expect(changeCalls()).toBe(0);
    expect(result).toMatchObject({ mode: 'report', status: 'WOULD_CLEAN_UP', deregistered: [], deprecated: [], terminated: [], notified: true });
    expect(result.wouldDeregister.map((w) => w.imageId)).toEqual([UNUSED]);
    expect(published()).toHaveLength(1);
    expect(statusOf(onlyMessage())).toBe('WOULD_CLEAN_UP');
    expect(onlyMessage().Message).toContain('Would deregister');
    expect(onlyMessage().Message).toContain(`Would terminate`);
  });

  it('publishes nothing when it would do nothing', async () => {
    process.env[LAMBDA_ENV.imageRetention] = 'report';
    world.images = world.images.filter((i) => i.ImageId !== UNUSED);

    const result = await handler({});

    expect(result.status).toBe('NOTHING_TO_DO');
    expect(snsMock).not.toHaveReceivedCommand(PublishCommand);
    expect(changeCalls()).toBe(0);
  });
});

describe('dry run', () => {
  it('{dryRun: true} changes nothing, publishes nothing and lists what it would deregister and why', async () => {
    world.images.push(image({ id: OLD_PROMOTED, daysOld: 60 }));
    world.history = [OLD_PROMOTED, CURRENT];
    world.bakeInstances = [bakeInstance(instanceId('b1'), 30)];

    const result = await handler({ dryRun: true });

    expect(changeCalls()).toBe(0);
    expect(snsMock).not.toHaveReceivedCommand(PublishCommand);
    expect(result).toMatchObject({
      mode: 'dry-run',
      status: 'WOULD_CLEAN_UP',
      deregistered: [],
      terminated: [],
      deprecated: [],
      notified: false,
      wouldDeregister: [{ imageId: UNUSED, why: 'never promoted; 40 days old, in use by nothing' }],
    });
    expect(keptReasons(result, OLD_PROMOTED)).toEqual(['promoted 2 promotions ago (keeping 3 per architecture)']);
  });

  it('a dry run ignores IMAGE_RETENTION', async () => {
    process.env[LAMBDA_ENV.imageRetention] = 'sometimes';

    const result = await handler({ dryRun: true });

    expect(result.mode).toBe('dry-run');
    expect(changeCalls()).toBe(0);
  });

  it('does not publish when a dry run cannot read what it needs', async () => {
    cfnMock.on(DescribeStacksCommand).rejects(new CloudFormationServiceException({ name: 'AccessDenied', $fault: 'client', $metadata: {}, message: 'not authorized' }));

    await expect(handler({ dryRun: true })).rejects.toThrow('not authorized');
    expect(snsMock).not.toHaveReceivedCommand(PublishCommand);
  });

  it("rejects {dryRun: 'yes'} naming dryRun, before anything is read or changed", async () => {
    const error = await caught(handler({ dryRun: 'yes' } as unknown as { dryRun: boolean }));

    expect(error.name).toBe('InvalidRequest');
    expect(error.message).toMatch(/^dryRun: /);
    expect(changeCalls()).toBe(0);
    expect(ec2Mock).not.toHaveReceivedCommand(DescribeImagesCommand);
    expect(snsMock).not.toHaveReceivedCommand(PublishCommand);
  });
});

describe('a survey that fails', () => {
  it('throws, changes nothing and publishes FAILED', async () => {
    cfnMock
      .on(DescribeStacksCommand)
      .rejects(new CloudFormationServiceException({ name: 'AccessDenied', $fault: 'client', $metadata: {}, message: 'User is not authorized to perform: cloudformation:DescribeStacks' }));

    const error = await caught(handler({}));

    expect(error.name).toBe('AccessDenied');
    expect(changeCalls()).toBe(0);
    expect(ec2Mock).not.toHaveReceivedCommand(DeregisterImageCommand);
    expect(published()).toHaveLength(1);
    expect(statusOf(onlyMessage())).toBe('FAILED');
    expect(onlyMessage().MessageAttributes?.step?.StringValue).toBe('retention');
    expect(onlyMessage().Message).toContain('AccessDenied: User is not authorized');
  });

  it('treats a configured stack that does not exist as using nothing, and says so', async () => {
    cfnMock
      .on(DescribeStacksCommand)
      .rejects(new CloudFormationServiceException({ name: 'ValidationError', $fault: 'client', $metadata: {}, message: `Stack with id ${STACK} does not exist` }));

    const result = await handler({});

    expect(result.status).toBe('CLEANED_UP');
    expect(deregistered()).toEqual([UNUSED]);
    expect(onlyMessage().Message).toContain(`configured stack ${STACK} does not exist; it uses no image`);
  });

  it('throws and changes nothing when the instances cannot be listed', async () => {
    ec2Mock.on(DescribeInstancesCommand).rejects(ec2Error('UnauthorizedOperation', 'not authorized'));

    await expect(handler({})).rejects.toThrow('not authorized');
    expect(changeCalls()).toBe(0);
    expect(statusOf(onlyMessage())).toBe('FAILED');
  });

  it('throws and changes nothing when the snapshots cannot be listed', async () => {
    world.snapshots = [snapshot(snapId('0a'), 30)];
    ec2Mock.on(DescribeSnapshotsCommand).rejects(ec2Error('UnauthorizedOperation', 'You are not authorized to perform: ec2:DescribeSnapshots'));

    const error = await caught(handler({}));

    expect(error.name).toBe('UnauthorizedOperation');
    expect(changeCalls()).toBe(0);
    expect(statusOf(onlyMessage())).toBe('FAILED');
    expect(onlyMessage().Message).toContain('Error: UnauthorizedOperation: You are not authorized to perform: ec2:DescribeSnapshots\n');
  });
});

describe('how an error reads', () => {
  /** What the SDK throws when the answer is not XML it can read (an HTML error page of a proxy or emulator). */
  const unreadable = (status: number | undefined, message: string) =>
    Object.assign(new Error(message), { name: 'SyntaxError', ...(status === undefined ? {} : { $metadata: { httpStatusCode: status } }) });

  it('names an answer the SDK could not read by its HTTP status (Deserialization error)', async () => {
    ec2Mock
      .on(DeregisterImageCommand)
      .rejects(unreadable(503, "Unexpected token '<'\n  Deserialization error: to see the raw response, inspect the hidden field {error}.$response on this object."));

    const result = await handler({});

    expect(result.failures).toEqual([`deregister ${UNUSED}: the endpoint answered HTTP 503 with a body that is not an EC2 answer`]);
    expect(onlyMessage().Message).toContain(`  - deregister ${UNUSED}: the endpoint answered HTTP 503 with a body that is not an EC2 answer\n`);
  });

  it('names an unreadable answer in a failed survey too (parse error), with ? for a missing status', async () => {
    ec2Mock.on(DescribeImagesCommand).rejects(unreadable(502, 'Non-whitespace before first tag.\nLine: 0\nparse error'));

    await caught(handler({}));

    expect(changeCalls()).toBe(0);
    expect(onlyMessage().Message).toContain('\nError: the endpoint answered HTTP 502 with a body that is not an EC2 answer\n');

    snsMock.resetHistory();
    ec2Mock.on(DescribeImagesCommand).rejects(unreadable(undefined, 'XML parse error at line 1'));
    await caught(handler({}));
    expect(onlyMessage().Message).toContain('\nError: the endpoint answered HTTP ? with a body that is not an EC2 answer\n');
  });

  it('prints only the first line of any other error', async () => {
    ec2Mock
      .on(DeregisterImageCommand)
      .rejects(ec2Error('UnauthorizedOperation', 'You are not authorized to perform this operation.\nEncoded authorization failure message: AbCdEf0123'));

    const result = await handler({});

    expect(result.failures).toEqual([`deregister ${UNUSED}: UnauthorizedOperation: You are not authorized to perform this operation.`]);
    expect(onlyMessage().Message).not.toContain('Encoded authorization failure message');
  });
});

describe('a run that starts while retention decides', () => {
  it('defers: nothing changed, nothing published', async () => {
    sfnMock
      .on(ListExecutionsCommand)
      .resolvesOnce({ executions: [] })
      .resolves({ executions: [{ executionArn: EXEC('rollback-late'), stateMachineArn: MACHINE, name: 'rollback-late', status: 'RUNNING', startDate: new Date(NOW) }] });
    sfnMock.on(DescribeExecutionCommand).resolves({ executionArn: EXEC('rollback-late'), stateMachineArn: MACHINE, status: 'RUNNING', startDate: new Date(NOW), input: JSON.stringify({ amiId: UNUSED }) });

    const result = await handler({});

    expect(sfnMock).toHaveReceivedCommandTimes(ListExecutionsCommand, 2);
    expect(result).toMatchObject({ status: 'DEFERRED', deregistered: [], notified: false });
    expect(result.wouldDeregister.map((w) => w.imageId)).toEqual([UNUSED]);
    expect(changeCalls()).toBe(0);
    expect(snsMock).not.toHaveReceivedCommand(PublishCommand);
  });

  it('throws, changes nothing and publishes FAILED when the second look at the runs fails', async () => {
    sfnMock
      .on(ListExecutionsCommand)
      .resolvesOnce({ executions: [] })
      .rejects(new SFNServiceException({ name: 'AccessDeniedException', $fault: 'client', $metadata: {}, message: 'not authorized to perform: states:ListExecutions' }));

    const error = await caught(handler({}));

    expect(error.name).toBe('AccessDeniedException');
    expect(sfnMock).toHaveReceivedCommandTimes(ListExecutionsCommand, 2);
    expect(changeCalls()).toBe(0);
    const message = onlyMessage();
    expect(statusOf(message)).toBe('FAILED');
    expect(message.Subject).toBe('[ecs-ami-pipeline prod] FAILED: image retention failed');
    expect(message.Message).toContain('\nError: AccessDeniedException: not authorized to perform: states:ListExecutions\nNothing was deleted after the error; the next pass tries again.\n');
  });

  it('goes on when the runs in flight are the ones the survey saw', async () => {
    world.runs = [{ name: 'weekly-20260310', input: '{}' }];

    const result = await handler({});

    expect(sfnMock).toHaveReceivedCommandTimes(ListExecutionsCommand, 2);
    expect(result.status).toBe('CLEANED_UP');
    expect(deregistered()).toEqual([UNUSED]);
  });
});

describe('deprecation', () => {
  beforeEach(() => {
    world.images.push(image({ id: OLD_PROMOTED, daysOld: 60 }));
    world.history = [OLD_PROMOTED, CURRENT];
  });

  it('deprecates a superseded kept image, from a whole minute at least five minutes ahead', async () => {
    const result = await handler({});

    expect(ec2Mock).toHaveReceivedCommandTimes(EnableImageDeprecationCommand, 1);
    const input = ec2Mock.commandCalls(EnableImageDeprecationCommand)[0]!.args[0].input;
    expect(input.ImageId).toBe(OLD_PROMOTED);
    // 12:00:30.500 + 5 min = 12:05:30.500, rounded up to the minute.
    expect(input.DeprecateAt).toEqual(new Date('2026-03-10T12:06:00.000Z'));
    expect(result.deprecated).toEqual([OLD_PROMOTED]);
    expect(result.status).toBe('CLEANED_UP');
    expect(onlyMessage().Message).toContain('[deprecated now]');
  });

  it('does not deprecate an image EC2 already has a deprecation time for', async () => {
    world.images = world.images.map((i) => (i.ImageId === OLD_PROMOTED ? image({ id: OLD_PROMOTED, daysOld: 60, deprecated: true }) : i));

    const result = await handler({});

    expect(ec2Mock).not.toHaveReceivedCommand(EnableImageDeprecationCommand);
    expect(result.deprecated).toEqual([]);
  });

  it('reports a refused deprecation as a warning; the pass is still CLEANED_UP', async () => {
    ec2Mock.on(EnableImageDeprecationCommand).rejects(ec2Error('UnauthorizedOperation', 'You are not authorized to perform this operation.'));

    const result = await handler({});

    expect(result).toMatchObject({
      status: 'CLEANED_UP',
      deregistered: [UNUSED],
      deprecated: [],
      failures: [],
      warnings: [`deprecate ${OLD_PROMOTED}: UnauthorizedOperation: You are not authorized to perform this operation.`],
    });
    expect(published()).toHaveLength(1);
    expect(statusOf(onlyMessage())).toBe('CLEANED_UP');
    expect(onlyMessage().Message).toContain('Not done (harmless; the next pass tries again):');
  });

  it('deprecates without a message when deprecation is all there is to do', async () => {
    world.images = world.images.filter((i) => i.ImageId !== UNUSED);

    const result = await handler({});

    expect(ec2Mock).toHaveReceivedCommandWith(EnableImageDeprecationCommand, { ImageId: OLD_PROMOTED });
    expect(ec2Mock).not.toHaveReceivedCommand(DeregisterImageCommand);
    expect(result).toMatchObject({ status: 'CLEANED_UP', deprecated: [OLD_PROMOTED], notified: false });
    expect(snsMock).not.toHaveReceivedCommand(PublishCommand);
  });
});

describe('leftover build instances', () => {
  const OLD_BAKE = instanceId('b1');
  const YOUNG_BAKE = instanceId('b2');
  const OTHER_STAGE_BAKE = instanceId('b3');

  beforeEach(() => {
    world.images = world.images.filter((i) => i.ImageId !== UNUSED);
    world.bakeInstances = [bakeInstance(OLD_BAKE, 6), bakeInstance(YOUNG_BAKE, 1), bakeInstance(OTHER_STAGE_BAKE, 30, { stage: 'staging' })];
  });

  it('terminates a build instance older than BAKE_LEFTOVER_HOURS (default 4), not a young one nor another stage\'s', async () => {
    const result = await handler({});

    expect(ec2Mock).toHaveReceivedCommandTimes(TerminateInstancesCommand, 1);
    expect(ec2Mock).toHaveReceivedCommandWith(TerminateInstancesCommand, { InstanceIds: [OLD_BAKE] });
    expect(result).toMatchObject({ status: 'CLEANED_UP', terminated: [OLD_BAKE], notified: true });
    expect(statusOf(onlyMessage())).toBe('CLEANED_UP');
    expect(onlyMessage().Message).toContain(`${OLD_BAKE}: build instance of bake weekly-abandoned, stopped for 6 h`);
  });

  it('looks for build instances by the contract tags', async () => {
    await handler({});

    const input = ec2Mock.commandCalls(DescribeInstancesCommand).map((c) => c.args[0].input).find((i) => filterValues(i.Filters, 'tag:Purpose'));
    expect(filterValues(input?.Filters, 'tag:Purpose')).toEqual(['ami-bake']);
    expect(filterValues(input?.Filters, 'tag:PipelineStage')).toEqual([STAGE]);
    expect(filterValues(input?.Filters, 'tag:ManagedBy')).toEqual(['ecs-ami-pipeline']);
  });

  it('honours BAKE_LEFTOVER_HOURS', async () => {
    process.env[LAMBDA_ENV.bakeLeftoverHours] = '8';

    const result = await handler({});

    expect(ec2Mock).not.toHaveReceivedCommand(TerminateInstancesCommand);
    expect(result.status).toBe('NOTHING_TO_DO');
  });

  it('spares the instance of a bake still in flight', async () => {
    world.bakeInstances = [bakeInstance(OLD_BAKE, 6, { buildId: 'weekly-slow' })];
    world.runs = [{ name: 'weekly-slow', input: '{}' }];

    await handler({});

    expect(ec2Mock).not.toHaveReceivedCommand(TerminateInstancesCommand);
  });
});

describe('bad configuration', () => {
  it.each([
    [LAMBDA_ENV.imageRetention, 'sometimes'],
    [LAMBDA_ENV.retainPromotedImages, '1'],
    [LAMBDA_ENV.retentionGraceDays, '0'],
    [LAMBDA_ENV.bakeLeftoverHours, 'two'],
  ])('%s=%s is an error naming the variable, and nothing changes', async (name, value) => {
    process.env[name] = value;

    const error = await caught(handler({}));

    expect(error.name).toBe('ConfigurationError');
    expect(error.message).toContain(name);
    expect(error.message).toContain(JSON.stringify(value));
    expect(changeCalls()).toBe(0);
    expect(ec2Mock).not.toHaveReceivedCommand(DescribeImagesCommand);
  });

  it('names CLUSTER_WAVES when it is not valid JSON', async () => {
    process.env[LAMBDA_ENV.clusterWaves] = '[{';

    const error = await caught(handler({}));

    expect(error.message).toContain('CLUSTER_WAVES');
    expect(changeCalls()).toBe(0);
  });
});
