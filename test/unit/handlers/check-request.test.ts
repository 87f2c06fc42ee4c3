import { DescribeImagesCommand, EC2Client, EC2ServiceException, type Image } from '@aws-sdk/client-ec2';
import { ListExecutionsCommand, SFNClient, SFNServiceException } from '@aws-sdk/client-sfn';
import { GetParameterCommand, GetParameterHistoryCommand, ParameterNotFound, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { handler } from '../../../functions/check-request/handler';
import { caught, unsetEnv, useEnv } from './env';

const ssmMock = mockClient(SSMClient);
const sfnMock = mockClient(SFNClient);
const ec2Mock = mockClient(EC2Client);

const PREFIX = '/ecs-ami-pipeline/prod';
const CURRENT = `${PREFIX}/ami/current`;
const RECOMMENDED = '/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended';
const MACHINE = 'arn:aws:states:eu-west-1:123456789012:stateMachine:ecs-ami-pipeline-prod';
const EXEC = (name: string) => `arn:aws:states:eu-west-1:123456789012:execution:ecs-ami-pipeline-prod:${name}`;
const START = '2026-01-01T10:00:00.000Z';
const BASE = 'ami-0cccccccccccccccc';
const BASE_NAME = 'al2023-ami-ecs-hvm-2023.0.20260101-kernel-6.1-x86_64';
const CURRENT_AMI = 'ami-0bbbbbbbbbbbbbbbb';
const PREVIOUS_AMI = 'ami-0aaaaaaaaaaaaaaaa';
const WAVES = [
  { name: 'dev', clusters: [{ stackName: 'dev-ecs', clusterName: 'dev-cluster' }] },
  { name: 'prod', clusters: [{ stackName: 'prod-a-ecs', clusterName: 'prod-a', imageParameter: 'ImageId' }] },
];
const PLANNED_WAVES = [
  { name: 'dev', clusters: [{ stackName: 'dev-ecs', clusterName: 'dev-cluster', imageParameter: 'ApplicationImageId' }] },
  { name: 'prod', clusters: [{ stackName: 'prod-a-ecs', clusterName: 'prod-a', imageParameter: 'ImageId' }] },
];

useEnv({
  AWS_REGION: 'eu-west-1',
  PARAMETER_PREFIX: PREFIX,
  CLUSTER_WAVES: JSON.stringify(WAVES),
  BASE_AMI_ARCHITECTURE: undefined,
});

const event = (input: unknown, name = 'run-1') => ({ input, execution: { id: EXEC(name), name, startTime: START } });
const notFound = (name: string) => new ParameterNotFound({ message: `Parameter ${name} not found.`, $metadata: {} });
const pipelineImage = (amiId: string, state: Image['State'] = 'available', managedBy = 'ecs-ami-pipeline'): Image => ({
  ImageId: amiId,
  State: state,
  Name: `ecs-ami-pipeline-${amiId}`,
  Tags: [
    { Key: 'ManagedBy', Value: managedBy },
    { Key: 'SourceAmiId', Value: 'ami-0eeeeeeeeeeeeeeee' },
  ],
});

beforeEach(() => {
  ssmMock.reset();
  sfnMock.reset();
  ec2Mock.reset();
  sfnMock.on(ListExecutionsCommand).resolves({
    executions: [{ executionArn: EXEC('run-1'), name: 'run-1', stateMachineArn: MACHINE, status: 'RUNNING', startDate: new Date(START) }],
  });
  ssmMock.on(GetParameterCommand, { Name: CURRENT }).resolves({ Parameter: { Name: CURRENT, Value: CURRENT_AMI } });
  ssmMock
    .on(GetParameterCommand, { Name: RECOMMENDED })
    .resolves({ Parameter: { Name: RECOMMENDED, Value: JSON.stringify({ image_id: BASE, image_name: BASE_NAME, schema_version: 1 }) } });
});
afterAll(() => {
  ssmMock.restore();
  sfnMock.restore();
  ec2Mock.restore();
});

describe('check-request handler', () => {
  it('plans a bake from the recommended base (a JSON string) onto the configured waves', async () => {
    const plan = await handler(event({ trigger: 'weekly', reason: 'weekly rebuild', requestedBy: 'schedule' }));
    expect(plan).toEqual({
      runId: 'run-1',
      executionArn: EXEC('run-1'),
      startedAt: START,
      trigger: 'weekly',
      mode: 'bake',
      dryRun: false,
      reason: 'weekly rebuild',
      requestedBy: 'schedule',
      waves: PLANNED_WAVES,
      currentAmiId: CURRENT_AMI,
      sourceAmi: { id: BASE, name: BASE_NAME },
    });
    expect(sfnMock).toHaveReceivedCommandWith(ListExecutionsCommand, { stateMachineArn: MACHINE, statusFilter: 'RUNNING' });
    expect(ssmMock).toHaveReceivedCommandWith(GetParameterCommand, { Name: CURRENT });
    expect(ssmMock).toHaveReceivedCommandWith(GetParameterCommand, { Name: RECOMMENDED });
    expect(ec2Mock).not.toHaveReceivedAnyCommand();
  });

  it('accepts the recommended parameter as an already-parsed object', async () => {
    ssmMock
      .on(GetParameterCommand, { Name: RECOMMENDED })
      .resolves({ Parameter: { Name: RECOMMENDED, Value: { image_id: BASE, image_name: BASE_NAME } as unknown as string } });
    const plan = await handler(event({ trigger: 'weekly' }));
    expect(plan.sourceAmi).toEqual({ id: BASE, name: BASE_NAME });
  });

  it('reads the arm64 recommended parameter when the architecture is arm64', async () => {
    process.env.BASE_AMI_ARCHITECTURE = 'arm64';
    const arm = '/aws/service/ecs/optimized-ami/amazon-linux-2023/arm64/recommended';
    ssmMock.on(GetParameterCommand, { Name: arm }).resolves({ Parameter: { Value: JSON.stringify({ image_id: 'ami-0ffffffffffffffff' }) } });
    const plan = await handler(event({ trigger: 'weekly' }));
    expect(plan.sourceAmi).toEqual({ id: 'ami-0ffffffffffffffff', name: undefined });
    expect(ssmMock).not.toHaveReceivedCommandWith(GetParameterCommand, { Name: RECOMMENDED });
  });

  it('fails when the recommended parameter has the wrong shape', async () => {
    ssmMock.on(GetParameterCommand, { Name: RECOMMENDED }).resolves({ Parameter: { Value: 'ami-0ffffffffffffffff' } });
    const error = await caught(handler(event({ trigger: 'weekly' })));
    expect(error.message).toBe(`${RECOMMENDED} is not JSON (value starts with "ami-0ffffffffffffffff")`);
  });

  it('has no current AMI on the first run', async () => {
    ssmMock.on(GetParameterCommand, { Name: CURRENT }).rejects(notFound(CURRENT));
    const plan = await handler(event({ trigger: 'manual', dryRun: true }));
    expect(plan.currentAmiId).toBeUndefined();
    expect(plan.dryRun).toBe(true);
  });

  it('uses a given sourceAmi after checking it exists and is available', async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [{ ImageId: 'ami-0ffffffffffffffff', State: 'available', Name: 'custom-base' }] });
    const plan = await handler(event({ trigger: 'manual', sourceAmi: 'ami-0ffffffffffffffff' }));
    expect(plan.sourceAmi).toEqual({ id: 'ami-0ffffffffffffffff', name: 'custom-base' });
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeImagesCommand, { ImageIds: ['ami-0ffffffffffffffff'] });
    expect(ssmMock).not.toHaveReceivedCommandWith(GetParameterCommand, { Name: RECOMMENDED });
  });

  it.each([
    ['EC2 does not know it', () => ec2Mock.on(DescribeImagesCommand).rejects(new EC2ServiceException({ name: 'InvalidAMIID.NotFound', $fault: 'client', $metadata: {}, message: 'not found' }))],
    ['EC2 returns no image', () => ec2Mock.on(DescribeImagesCommand).resolves({ Images: [] })],
  ])('rejects a sourceAmi that does not exist (%s)', async (_, arrange) => {
    arrange();
    const error = await caught(handler(event({ trigger: 'manual', sourceAmi: 'ami-0ffffffffffffffff' })));
    expect(error.name).toBe('InvalidRequest');
    expect(error.message).toBe('sourceAmi: ami-0ffffffffffffffff does not exist in this region');
  });

  it('rejects a sourceAmi that is not available', async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [{ ImageId: 'ami-0ffffffffffffffff', State: 'pending' }] });
    const error = await caught(handler(event({ trigger: 'manual', sourceAmi: 'ami-0ffffffffffffffff' })));
    expect(error.name).toBe('InvalidRequest');
    expect(error.message).toBe('sourceAmi: ami-0ffffffffffffffff is pending, not available');
  });

  it('skips when an earlier run is in flight, without reading anything else', async () => {
    const earlier = { executionArn: EXEC('run-0'), name: 'run-0', stateMachineArn: MACHINE, status: 'RUNNING' as const, startDate: new Date('2026-01-01T09:00:00.000Z') };
    sfnMock.on(ListExecutionsCommand).resolves({
      executions: [{ executionArn: EXEC('run-1'), name: 'run-1', stateMachineArn: MACHINE, status: 'RUNNING', startDate: new Date(START) }, earlier],
    });
    const plan = await handler(event({ trigger: 'weekly' }));
    expect(plan.skip).toEqual({ runningExecutionArn: EXEC('run-0'), runningSince: '2026-01-01T09:00:00.000Z' });
    expect(plan.waves).toEqual(PLANNED_WAVES);
    expect(plan.currentAmiId).toBeUndefined();
    expect(plan.sourceAmi).toBeUndefined();
    expect(ssmMock).not.toHaveReceivedAnyCommand();
    expect(ec2Mock).not.toHaveReceivedAnyCommand();
  });

  it('does not skip for a run that started later', async () => {
    sfnMock.on(ListExecutionsCommand).resolves({
      executions: [{ executionArn: EXEC('run-2'), name: 'run-2', stateMachineArn: MACHINE, status: 'RUNNING', startDate: new Date('2026-01-01T10:00:01.000Z') }],
    });
    const plan = await handler(event({ trigger: 'weekly' }));
    expect(plan.skip).toBeUndefined();
    expect(plan.sourceAmi?.id).toBe(BASE);
  });

  it('rolls back to the previous distinct value of the current parameter by default', async () => {
    ssmMock.on(GetParameterHistoryCommand, { Name: CURRENT }).resolves({
      Parameters: [
        { Version: 1, Value: PREVIOUS_AMI },
        { Version: 2, Value: CURRENT_AMI },
        { Version: 3, Value: CURRENT_AMI },
      ],
    });
    ec2Mock.on(DescribeImagesCommand, { ImageIds: [PREVIOUS_AMI] }).resolves({ Images: [pipelineImage(PREVIOUS_AMI)] });
    const plan = await handler(event({ trigger: 'manual', rollback: {} }));
    expect(plan.mode).toBe('rollback');
    expect(plan.rollbackTo).toEqual({ amiId: PREVIOUS_AMI, baseAmiId: 'ami-0eeeeeeeeeeeeeeee' });
    expect(plan.sourceAmi).toBeUndefined();
    expect(plan.currentAmiId).toBe(CURRENT_AMI);
    expect(ssmMock).toHaveReceivedCommandWith(GetParameterHistoryCommand, { Name: CURRENT });
    expect(ssmMock).not.toHaveReceivedCommandWith(GetParameterCommand, { Name: RECOMMENDED });
  });

  it('rolls back to a named AMI without reading the history', async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [pipelineImage('ami-0ffffffffffffffff')] });
    const plan = await handler(event({ trigger: 'manual', rollback: { toAmi: 'ami-0ffffffffffffffff' }, clusters: ['prod-a'] }));
    expect(plan.rollbackTo?.amiId).toBe('ami-0ffffffffffffffff');
    expect(plan.waves).toEqual([PLANNED_WAVES[1]]);
    expect(ssmMock).not.toHaveReceivedCommand(GetParameterHistoryCommand);
  });

  it.each([
    ['the current parameter does not exist', () => ssmMock.on(GetParameterHistoryCommand).rejects(notFound(CURRENT))],
    ['it only ever held one AMI', () => ssmMock.on(GetParameterHistoryCommand).resolves({ Parameters: [{ Version: 1, Value: CURRENT_AMI }, { Version: 2, Value: CURRENT_AMI }] })],
  ])('rejects a rollback with nothing to roll back to when %s, naming rollback.toAmi', async (_, arrange) => {
    arrange();
    const error = await caught(handler(event({ trigger: 'manual', rollback: {} })));
    expect(error.name).toBe('InvalidRequest');
    expect(error.message).toBe(
      `rollback.toAmi: ${CURRENT} has no earlier AMI to roll back to; name one with {"rollback": {"toAmi": "ami-..."}}`,
    );
    expect(ec2Mock).not.toHaveReceivedAnyCommand();
  });

  it.each([
    [[], 'rollback.toAmi: ami-0ffffffffffffffff does not exist in this region (deregistered?)'],
    [[pipelineImage('ami-0ffffffffffffffff', 'deregistered')], 'rollback.toAmi: ami-0ffffffffffffffff is deregistered, not available'],
    [
      [pipelineImage('ami-0ffffffffffffffff', 'available', 'someone-else')],
      'rollback.toAmi: ami-0ffffffffffffffff was not baked by this pipeline (no ManagedBy=ecs-ami-pipeline tag); only pipeline images can be rolled back to',
    ],
  ])('rejects a rollback target that is unusable (%#)', async (images, message) => {
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: images });
    const error = await caught(handler(event({ trigger: 'manual', rollback: { toAmi: 'ami-0ffffffffffffffff' } })));
    expect(error.name).toBe('InvalidRequest');
    expect(error.message).toBe(message);
  });

  it('rejects invalid input before calling AWS', async () => {
    const error = await caught(handler(event({ trigger: 'manual', clusters: ['staging'] })));
    expect(error.name).toBe('InvalidRequest');
    expect(error.message).toMatch(/^clusters\[0\]: "staging" is not a configured cluster or stack/);
    expect(sfnMock).not.toHaveReceivedAnyCommand();
    expect(ssmMock).not.toHaveReceivedAnyCommand();
  });

  it('fails with ConfigurationError when the waves are not configured', async () => {
    unsetEnv('CLUSTER_WAVES');
    const error = await caught(handler(event({ trigger: 'weekly' })));
    expect(error.name).toBe('ConfigurationError');
    expect(error.message).toBe('CLUSTER_WAVES is not set; configure the stage\'s waves in serverless.yml params and redeploy');
  });

  it('fails when the parameter prefix is not set', async () => {
    unsetEnv('PARAMETER_PREFIX');
    const error = await caught(handler(event({ trigger: 'weekly' })));
    expect(error.message).toBe('environment variable PARAMETER_PREFIX is not set; it comes from serverless.yml');
  });

  it('turns throttling into TransientAwsError for the state machine to retry', async () => {
    sfnMock.on(ListExecutionsCommand).rejects(new SFNServiceException({ name: 'ThrottlingException', $fault: 'client', $metadata: {}, message: 'Rate exceeded' }));
    const error = await caught(handler(event({ trigger: 'weekly' })));
    expect(error.name).toBe('TransientAwsError');
    expect(error.message).toBe('ThrottlingException: Rate exceeded');
  });
});
