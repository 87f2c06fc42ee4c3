import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { DescribeImagesCommand, EC2Client, EC2ServiceException, ModifyImageAttributeCommand, ModifySnapshotAttributeCommand, type Image } from '@aws-sdk/client-ec2';
import { PutParameterCommand, SSMClient, SSMServiceException } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import type { RunPlan } from '../../../functions/lib/contracts/plan';
import { handler, type RecordBakedAmiEvent } from '../../../functions/record-baked-ami/handler';
import { caught, freezeTime, unsetEnv, useEnv } from './env';

const ssmMock = mockClient(SSMClient);
const ec2Mock = mockClient(EC2Client);
const ddbMock = mockClient(DynamoDBClient);

const PREFIX = '/ecs-ami-pipeline/prod';
const EXEC = 'arn:aws:states:eu-west-1:123456789012:execution:ecs-ami-pipeline-prod:weekly-1';
const AMI = 'ami-0dddddddddddddddd';
const BASE = 'ami-0cccccccccccccccc';
const BUILD_ID = 'ecs-ami-pipeline-prod-bake:11111111-2222-3333-4444-555555555555';
const LOGS = 'https://console.aws.amazon.com/cloudwatch/home#logsV2:log-groups/bake';

const TABLE = 'ecs-ami-pipeline-prod-runs';
const OTHER = 'arn:aws:states:eu-west-1:123456789012:execution:ecs-ami-pipeline-prod:manual-9';

useEnv({ AWS_REGION: 'eu-west-1', PARAMETER_PREFIX: PREFIX, RUN_LEDGER_TABLE: TABLE });

const lockHeldBy = (owner: string) =>
  ddbMock.on(GetItemCommand).resolves({ Item: { pk: { S: 'fleet-lock' }, ownerExecutionArn: { S: owner }, acquiredAt: { S: '2026-01-01T10:00:00.000Z' } } });

const plan: RunPlan = {
  runId: 'weekly-1',
  approvalTimeoutSeconds: 86400,
  copyRegions: [],
  otherBuilds: [],
  executionArn: EXEC,
  startedAt: '2026-01-01T10:00:00.000Z',
  trigger: 'weekly',
  audit: { trigger: 'weekly', requestedBy: 'weekly schedule', reason: null, runId: 'weekly-1' },
  mode: 'bake',
  dryRun: false,
  waves: [],
  sourceAmi: { id: BASE, name: 'al2023-ami-ecs-hvm-base' },
};

function event(exported: { Name: string; Value: string }[] = [
  { Name: 'AMI_ID', Value: AMI },
  { Name: 'AMI_REGION', Value: 'eu-west-1' },
  { Name: 'SOURCE_AMI_ID', Value: BASE },
]): RecordBakedAmiEvent {
  return { executionArn: EXEC, plan, build: { Id: BUILD_ID, Logs: { DeepLink: LOGS }, ExportedEnvironmentVariables: exported } };
}

function image(overrides: Partial<Image> = {}, tags: Record<string, string> = { ManagedBy: 'ecs-ami-pipeline', SourceAmiId: BASE, SourceAmiName: 'al2023-from-tag' }): Image {
  return { ImageId: AMI, State: 'available', Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })), ...overrides };
}

beforeEach(() => {
  ssmMock.reset();
  ec2Mock.reset();
  ddbMock.reset();
  lockHeldBy(EXEC);
  ec2Mock.on(DescribeImagesCommand, { ImageIds: [AMI] }).resolves({ Images: [image()] });
  ssmMock.on(PutParameterCommand).resolves({ Version: 4 });
});
afterEach(() => jest.useRealTimers());
afterAll(() => {
  ssmMock.restore();
  ec2Mock.restore();
  ddbMock.restore();
});

describe('record-baked-ami handler', () => {
  it('writes the record, then the latest AMI as aws:ec2:image, both with Overwrite', async () => {
    const now = freezeTime('2026-01-01T11:00:00.000Z');
    const baked = await handler(event());
    expect(baked).toEqual({
      amiId: AMI,
      baseAmiId: BASE,
      baseAmiName: 'al2023-from-tag',
      buildId: 'weekly-1',
      codeBuildId: BUILD_ID,
      logsUrl: LOGS,
    });
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeImagesCommand, { ImageIds: [AMI] });
    expect(ddbMock).toHaveReceivedCommandWith(GetItemCommand, { TableName: TABLE, Key: { pk: { S: 'fleet-lock' } }, ConsistentRead: true });
    expect(ddbMock).not.toHaveReceivedCommand(PutItemCommand);
    expect(ssmMock).toHaveReceivedCommandTimes(PutParameterCommand, 2);
    expect(ssmMock).toHaveReceivedNthCommandWith(1, PutParameterCommand, {
      Name: `${PREFIX}/ami/latest/record`,
      Type: 'String',
      DataType: 'text',
      Overwrite: true,
      Description: `Record of the latest baked AMI ${AMI}`,
    });
    const record = JSON.parse(ssmMock.commandCalls(PutParameterCommand)[0]!.args[0].input.Value!);
    expect(record).toEqual({
      amiId: AMI,
      baseAmiId: BASE,
      baseAmiName: 'al2023-from-tag',
      buildId: 'weekly-1',
      codeBuildId: BUILD_ID,
      executionArn: EXEC,
      recordedAt: now.toISOString(),
    });
    expect(ssmMock).toHaveReceivedNthCommandWith(2, PutParameterCommand, {
      Name: `${PREFIX}/ami/latest`,
      Value: AMI,
      Type: 'String',
      DataType: 'aws:ec2:image',
      Overwrite: true,
      Description: `Latest AMI baked by run weekly-1 from ${BASE}`,
    });
  });

  it('takes the base from the exported SOURCE_AMI_ID, then from the plan, when the image has no tag', async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [image({}, { ManagedBy: 'ecs-ami-pipeline' })] });
    const fromExport = await handler(event([{ Name: 'AMI_ID', Value: AMI }, { Name: 'SOURCE_AMI_ID', Value: 'ami-0eeeeeeeeeeeeeeee' }]));
    expect(fromExport.baseAmiId).toBe('ami-0eeeeeeeeeeeeeeee');
    expect(fromExport.baseAmiName).toBe('al2023-ami-ecs-hvm-base');
    const fromPlan = await handler(event([{ Name: 'AMI_ID', Value: AMI }]));
    expect(fromPlan.baseAmiId).toBe(BASE);
  });

  it.each([
    ['no AMI_ID exported', () => event([]), 'NoAmiExported', `${BUILD_ID} succeeded but exported no AMI_ID; check the buildspec's env.exported-variables and its manifest step`],
    ['a malformed AMI_ID', () => event([{ Name: 'AMI_ID', Value: 'none' }]), 'NoAmiExported', `${BUILD_ID} exported AMI_ID="none", which is not an AMI id`],
    [
      'an AMI baked in another region',
      () => event([{ Name: 'AMI_ID', Value: AMI }, { Name: 'AMI_REGION', Value: 'us-east-1' }]),
      'AmiUnusable',
      `${BUILD_ID} baked ${AMI} in us-east-1, but the pipeline runs in eu-west-1`,
    ],
  ])('fails on %s before looking anything up, writing nothing', async (_, makeEvent, name, message) => {
    const error = await caught(handler(makeEvent()));
    expect(error.name).toBe(name);
    expect(error.message).toBe(message);
    expect(ec2Mock).not.toHaveReceivedAnyCommand();
    expect(ssmMock).not.toHaveReceivedAnyCommand();
  });

  it.each([
    ['the image does not exist', { Images: [] }, 'AmiUnusable', `${AMI} does not exist in this region`],
    ['the image is pending', { Images: [image({ State: 'pending' })] }, 'AmiNotAvailableYet', `${AMI} is still pending; waiting for it to become available`],
    ['the image failed', { Images: [image({ State: 'failed', StateReason: { Message: 'boom' } })] }, 'AmiUnusable', `${AMI} is failed (boom)`],
    [
      'the image was not baked by this pipeline',
      { Images: [image({}, { SourceAmiId: BASE })] },
      'AmiUnusable',
      `${AMI} has no ManagedBy=ecs-ami-pipeline tag: it was not baked from this pipeline's Packer template`,
    ],
    [
      'the image was built from another base',
      { Images: [image({}, { ManagedBy: 'ecs-ami-pipeline', SourceAmiId: 'ami-0eeeeeeeeeeeeeeee' })] },
      'AmiUnusable',
      `${AMI} was built from ami-0eeeeeeeeeeeeeeee, but the run asked for ${BASE}`,
    ],
  ])('fails when %s, writing nothing', async (_, answer, name, message) => {
    ec2Mock.on(DescribeImagesCommand).resolves(answer);
    const error = await caught(handler(event()));
    expect(error.name).toBe(name);
    expect(error.message).toBe(message);
    expect(ssmMock).not.toHaveReceivedAnyCommand();
  });

  it('turns a throttled DescribeImages into TransientAwsError, writing nothing', async () => {
    ec2Mock.on(DescribeImagesCommand).rejects(new EC2ServiceException({ name: 'RequestLimitExceeded', $fault: 'client', $metadata: {}, message: 'Request limit exceeded.' }));
    const error = await caught(handler(event()));
    expect(error.name).toBe('TransientAwsError');
    expect(ssmMock).not.toHaveReceivedAnyCommand();
  });

  it('writes nothing when another run holds the fleet (FleetHeldByAnotherRun)', async () => {
    lockHeldBy(OTHER);
    const error = await caught(handler(event()));
    expect(error.name).toBe('FleetHeldByAnotherRun');
    expect(error.message).toBe(`run ${OTHER} holds the fleet; this run (${EXEC}) changes nothing more`);
    expect(ssmMock).not.toHaveReceivedAnyCommand();
  });

  it('takes a free fleet back before writing (a redriven run)', async () => {
    ddbMock.on(GetItemCommand).resolves({});
    ddbMock.on(PutItemCommand).resolves({});
    await handler(event());
    expect(ddbMock).toHaveReceivedCommandWith(PutItemCommand, { TableName: TABLE, ConditionExpression: 'attribute_not_exists(pk) OR ownerExecutionArn = :me' });
    expect(ssmMock).toHaveReceivedCommandTimes(PutParameterCommand, 2);
  });

  it('does not write the latest AMI when writing its record failed', async () => {
    ssmMock.on(PutParameterCommand).rejects(new SSMServiceException({ name: 'AccessDeniedException', $fault: 'client', $metadata: {}, message: 'denied' }));
    const error = await caught(handler(event()));
    expect(error.name).toBe('AccessDeniedException');
    expect(ssmMock).toHaveReceivedCommandTimes(PutParameterCommand, 1);
    expect(ssmMock).not.toHaveReceivedCommandWith(PutParameterCommand, { Name: `${PREFIX}/ami/latest` });
  });

  it('fails when the parameter prefix is not set', async () => {
    unsetEnv('PARAMETER_PREFIX');
    const error = await caught(handler(event()));
    expect(error.message).toBe('environment variable PARAMETER_PREFIX is not set; it comes from serverless.yml');
    expect(ssmMock).not.toHaveReceivedAnyCommand();
  });
});

describe('record-baked-ami for another architecture (plan.otherBuilds)', () => {
  const ARM_BASE = 'ami-0a1a1a1a1a1a1a1a1';
  const other = { architecture: 'arm64' as const, sourceAmi: { id: ARM_BASE, name: 'al2023-arm64' }, instanceType: 't4g.medium' };
  const armEvent = (): RecordBakedAmiEvent => ({ ...event([{ Name: 'AMI_ID', Value: AMI }, { Name: 'AMI_REGION', Value: 'eu-west-1' }, { Name: 'SOURCE_AMI_ID', Value: ARM_BASE }]), other });

  it('checks the image is of that architecture from that base, and records it as ami/<architecture>/latest', async () => {
    ec2Mock.on(DescribeImagesCommand, { ImageIds: [AMI] }).resolves({ Images: [image({ Architecture: 'arm64' }, { ManagedBy: 'ecs-ami-pipeline', SourceAmiId: ARM_BASE })] });
    await expect(handler(armEvent())).resolves.toMatchObject({ amiId: AMI, architecture: 'arm64', baseAmiId: ARM_BASE });
    const names = ssmMock.commandCalls(PutParameterCommand).map((c) => c.args[0].input.Name);
    expect(names).toEqual([`${PREFIX}/ami/arm64/latest/record`, `${PREFIX}/ami/arm64/latest`]);
  });

  it('refuses an image of another architecture than its build was asked, writing nothing', async () => {
    ec2Mock.on(DescribeImagesCommand, { ImageIds: [AMI] }).resolves({ Images: [image({ Architecture: 'x86_64' }, { ManagedBy: 'ecs-ami-pipeline', SourceAmiId: ARM_BASE })] });
    await expect(handler(armEvent())).rejects.toMatchObject({ name: 'AmiUnusable', message: expect.stringContaining('is x86_64, not arm64') });
    expect(ssmMock).toHaveReceivedCommandTimes(PutParameterCommand, 0);
  });
});

describe('record-baked-ami sharing (param shareWith)', () => {
  const ACCOUNT = '210987654321';
  const OU = 'arn:aws:organizations::123456789012:ou/o-abcdefghij/ou-abcd-efghijkl';
  afterEach(() => {
    delete process.env.SHARE_WITH;
  });

  it('shares the image and lets the accounts copy its snapshots before ami/latest names it', async () => {
    process.env.SHARE_WITH = JSON.stringify({ accounts: [ACCOUNT], organizationArns: [], organizationalUnitArns: [OU] });
    const order: string[] = [];
    ec2Mock.on(DescribeImagesCommand, { ImageIds: [AMI] }).resolves({
      Images: [image({ BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: 'snap-0root' } }, { DeviceName: '/dev/xvdcy', Ebs: { SnapshotId: 'snap-0data' } }] })],
    });
    ec2Mock.on(ModifyImageAttributeCommand).callsFake(() => (order.push('image'), {}));
    ec2Mock.on(ModifySnapshotAttributeCommand).callsFake((input: { SnapshotId: string }) => (order.push(input.SnapshotId), {}));
    ssmMock.on(PutParameterCommand).callsFake((input: { Name: string }) => (order.push(input.Name), { Version: 1 }));
    await handler(event());
    expect(order).toEqual(['image', 'snap-0root', 'snap-0data', `${PREFIX}/ami/latest/record`, `${PREFIX}/ami/latest`]);
    expect(ec2Mock).toHaveReceivedCommandWith(ModifyImageAttributeCommand, { ImageId: AMI, LaunchPermission: { Add: [{ UserId: ACCOUNT }, { OrganizationalUnitArn: OU }] } });
    expect(ec2Mock).toHaveReceivedCommandWith(ModifySnapshotAttributeCommand, {
      SnapshotId: 'snap-0root',
      Attribute: 'createVolumePermission',
      OperationType: 'add',
      UserIds: [ACCOUNT],
    });
  });

  it('shares an OU-only stage without touching the snapshots (they cannot be shared with an OU)', async () => {
    process.env.SHARE_WITH = JSON.stringify({ accounts: [], organizationArns: [], organizationalUnitArns: [OU] });
    ec2Mock.on(ModifyImageAttributeCommand).resolves({});
    await handler(event());
    expect(ec2Mock).toHaveReceivedCommandTimes(ModifyImageAttributeCommand, 1);
    expect(ec2Mock).not.toHaveReceivedCommand(ModifySnapshotAttributeCommand);
  });

  it('shares nothing when the stage shares with nobody', async () => {
    process.env.SHARE_WITH = JSON.stringify({ accounts: [], organizationArns: [], organizationalUnitArns: [] });
    await handler(event());
    expect(ec2Mock).not.toHaveReceivedCommand(ModifyImageAttributeCommand);
  });

  it('records nothing when sharing fails, so ami/latest never names an image the accounts cannot launch', async () => {
    process.env.SHARE_WITH = JSON.stringify({ accounts: [ACCOUNT], organizationArns: [], organizationalUnitArns: [] });
    ec2Mock.on(ModifyImageAttributeCommand).rejects(new EC2ServiceException({ name: 'UnauthorizedOperation', $fault: 'client', $metadata: {}, message: 'not allowed' }));
    await expect(handler(event())).rejects.toThrow('not allowed');
    expect(ssmMock).not.toHaveReceivedCommand(PutParameterCommand);
  });
});
