import { CloudFormationClient, CloudFormationServiceException, DescribeStacksCommand, type Stack } from '@aws-sdk/client-cloudformation';
import { ConditionalCheckFailedException, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { DescribeImagesCommand, EC2Client, EC2ServiceException, type Image } from '@aws-sdk/client-ec2';
import { DescribeClustersCommand, ECSClient } from '@aws-sdk/client-ecs';
import { DescribeExecutionCommand, ExecutionDoesNotExist, SFNClient } from '@aws-sdk/client-sfn';
import {
  GetParameterCommand,
  GetParameterHistoryCommand,
  GetParametersCommand,
  ParameterNotFound,
  SSMClient,
  SSMServiceException,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { handler } from '../../../functions/check-request/handler';
import type { ClusterRecord, PromotionRecord } from '../../../functions/lib/contracts';
import { caught, freezeTime, unsetEnv, useEnv } from './env';

const ssmMock = mockClient(SSMClient);
const sfnMock = mockClient(SFNClient);
const ec2Mock = mockClient(EC2Client);
const ddbMock = mockClient(DynamoDBClient);
const cfnMock = mockClient(CloudFormationClient);
const ecsMock = mockClient(ECSClient);

const PREFIX = '/ecs-ami-pipeline/prod';
const CURRENT = `${PREFIX}/ami/current`;
const CURRENT_RECORD = `${PREFIX}/ami/current/record`;
const RECOMMENDED = '/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended';
const TABLE = 'ecs-ami-pipeline-prod-runs';
const MACHINE = 'arn:aws:states:eu-west-1:123456789012:stateMachine:ecs-ami-pipeline-prod';
const EXEC = (name: string) => `arn:aws:states:eu-west-1:123456789012:execution:ecs-ami-pipeline-prod:${name}`;
const START = '2026-01-01T10:00:00.000Z';
const NOW = '2026-01-01T10:00:02.000Z';
const BASE = 'ami-0cccccccccccccccc';
const BASE_NAME = 'al2023-ami-ecs-hvm-2023.0.20260101-kernel-6.1-x86_64';
const CURRENT_AMI = 'ami-0bbbbbbbbbbbbbbbb';
const PREVIOUS_AMI = 'ami-0aaaaaaaaaaaaaaaa';
const OLDEST_AMI = 'ami-09999999999999999';
const NAMED_AMI = 'ami-0ffffffffffffffff';
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
  RUN_LEDGER_TABLE: TABLE,
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
    { Key: 'SourceAmiName', Value: 'al2023-base' },
    { Key: 'BuildId', Value: `build-of-${amiId}` },
  ],
});

function stack(stackName: string, imageParameter: string, status = 'UPDATE_COMPLETE', image = CURRENT_AMI): Stack {
  return { StackName: stackName, CreationTime: new Date(), StackStatus: status as Stack['StackStatus'], Parameters: [{ ParameterKey: imageParameter, ParameterValue: image }] };
}

function lockHeldBy(owner: string, status: string | 'gone', acquiredAt = '2026-01-01T09:00:00.000Z') {
  ddbMock.on(GetItemCommand).resolves({ Item: { pk: { S: 'fleet-lock' }, ownerExecutionArn: { S: owner }, acquiredAt: { S: acquiredAt } } });
  if (status === 'gone') sfnMock.on(DescribeExecutionCommand).rejects(new ExecutionDoesNotExist({ message: 'does not exist', $metadata: {} }));
  else sfnMock.on(DescribeExecutionCommand, { executionArn: owner }).resolves({ executionArn: owner, status: status as 'RUNNING', stateMachineArn: MACHINE, startDate: new Date() });
}

/** The cluster records SSM holds: stack name -> image it confirmed. */
function clusterRecords(byStack: Record<string, string>) {
  ssmMock.on(GetParametersCommand).callsFake(({ Names }: { Names: string[] }) => ({
    Parameters: Names.filter((n) => byStack[n.split('/').pop()!]).map((n) => {
      const record: ClusterRecord = {
        stackName: n.split('/').pop()!,
        clusterName: 'c',
        amiId: byStack[n.split('/').pop()!]!,
        purpose: 'rollout',
        runId: 'weekly-0',
        executionArn: EXEC('weekly-0'),
        confirmedAt: '2025-12-01T00:00:00.000Z',
      };
      return { Name: n, Value: JSON.stringify(record) };
    }),
  }));
}

/** The histories of ami/current (values, oldest first) and of its record. */
function promotions(values: string[], records: Partial<PromotionRecord>[] = []) {
  ssmMock.on(GetParameterHistoryCommand, { Name: CURRENT }).resolves({ Parameters: values.map((Value, i) => ({ Version: i + 1, Value })) });
  ssmMock.on(GetParameterHistoryCommand, { Name: CURRENT_RECORD }).resolves({
    Parameters: records.map((r, i) => ({ Version: i + 1, Value: JSON.stringify({ executionArn: EXEC(`r${i}`), promotedAt: START, clusters: [], ...r }) })),
  });
}

function lockWrite() {
  expect(ddbMock).toHaveReceivedCommandTimes(PutItemCommand, 1);
  return ddbMock.commandCalls(PutItemCommand)[0]!.args[0].input;
}

beforeEach(() => {
  ssmMock.reset();
  sfnMock.reset();
  ec2Mock.reset();
  ddbMock.reset();
  cfnMock.reset();
  ecsMock.reset();
  freezeTime(NOW);
  ddbMock.on(GetItemCommand).resolves({});
  ddbMock.on(PutItemCommand).resolves({});
  ssmMock.on(GetParameterCommand, { Name: CURRENT }).resolves({ Parameter: { Name: CURRENT, Value: CURRENT_AMI } });
  ssmMock
    .on(GetParameterCommand, { Name: RECOMMENDED })
    .resolves({ Parameter: { Name: RECOMMENDED, Value: JSON.stringify({ image_id: BASE, image_name: BASE_NAME, schema_version: 1 }) } });
  clusterRecords({ 'dev-ecs': CURRENT_AMI, 'prod-a-ecs': CURRENT_AMI });
  promotions([PREVIOUS_AMI, CURRENT_AMI], [{ amiId: PREVIOUS_AMI, reason: 'rollout' }, { amiId: CURRENT_AMI, previousAmiId: PREVIOUS_AMI, reason: 'rollout' }]);
  cfnMock.on(DescribeStacksCommand, { StackName: 'dev-ecs' }).resolves({ Stacks: [stack('dev-ecs', 'ApplicationImageId')] });
  cfnMock.on(DescribeStacksCommand, { StackName: 'prod-a-ecs' }).resolves({ Stacks: [stack('prod-a-ecs', 'ImageId')] });
  ecsMock.on(DescribeClustersCommand).callsFake(({ clusters }: { clusters: string[] }) => ({
    clusters: clusters.map((clusterName) => ({ clusterName, status: 'ACTIVE' })),
  }));
});
afterEach(() => jest.useRealTimers());
afterAll(() => {
  for (const mock of [ssmMock, sfnMock, ec2Mock, ddbMock, cfnMock, ecsMock]) mock.restore();
});

describe('check-request handler', () => {
  describe('a bake', () => {
    it('plans a bake from the recommended base (a JSON string) onto the configured waves, taking the free fleet', async () => {
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
        audit: { trigger: 'weekly', requestedBy: 'schedule', reason: 'weekly rebuild', runId: 'run-1' },
        waves: PLANNED_WAVES,
        approvalTimeoutSeconds: 86400,
        copyRegions: [],
        otherBuilds: [],
        currentAmiId: CURRENT_AMI,
        sourceAmi: { id: BASE, name: BASE_NAME },
      });
      expect(ddbMock).toHaveReceivedCommandWith(GetItemCommand, { TableName: TABLE, Key: { pk: { S: 'fleet-lock' } }, ConsistentRead: true });
      expect(lockWrite()).toEqual({
        TableName: TABLE,
        Item: { pk: { S: 'fleet-lock' }, ownerExecutionArn: { S: EXEC('run-1') }, acquiredAt: { S: NOW }, trigger: { S: 'weekly' } },
        ConditionExpression: 'attribute_not_exists(pk) OR ownerExecutionArn = :me',
        ExpressionAttributeValues: { ':me': { S: EXEC('run-1') } },
      });
      expect(sfnMock).not.toHaveReceivedAnyCommand();
      expect(ssmMock).toHaveReceivedCommandWith(GetParameterCommand, { Name: CURRENT });
      expect(ssmMock).toHaveReceivedCommandWith(GetParameterCommand, { Name: RECOMMENDED });
      expect(ec2Mock).not.toHaveReceivedAnyCommand();
    });

    it('checks every target before anything is baked: one DescribeStacks per stack, one DescribeClusters', async () => {
      await handler(event({ trigger: 'weekly' }));
      expect(cfnMock).toHaveReceivedCommandTimes(DescribeStacksCommand, 2);
      expect(cfnMock).toHaveReceivedCommandWith(DescribeStacksCommand, { StackName: 'dev-ecs' });
      expect(cfnMock).toHaveReceivedCommandWith(DescribeStacksCommand, { StackName: 'prod-a-ecs' });
      expect(ecsMock).toHaveReceivedCommandTimes(DescribeClustersCommand, 1);
      expect(ecsMock).toHaveReceivedCommandWith(DescribeClustersCommand, { clusters: ['dev-cluster', 'prod-a'] });
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

    it('fails when the recommended parameter has the wrong shape, before touching the lock', async () => {
      ssmMock.on(GetParameterCommand, { Name: RECOMMENDED }).resolves({ Parameter: { Value: 'ami-0ffffffffffffffff' } });
      const error = await caught(handler(event({ trigger: 'weekly' })));
      expect(error.message).toBe(`${RECOMMENDED} is not JSON (value starts with "ami-0ffffffffffffffff")`);
      expect(ddbMock).not.toHaveReceivedAnyCommand();
    });

    it('has no current AMI on the first run, and a dry run checks no targets', async () => {
      ssmMock.on(GetParameterCommand, { Name: CURRENT }).rejects(notFound(CURRENT));
      const plan = await handler(event({ trigger: 'manual', dryRun: true }));
      expect(plan.currentAmiId).toBeUndefined();
      expect(plan.dryRun).toBe(true);
      expect(plan.notReady).toBeUndefined();
      expect(cfnMock).not.toHaveReceivedAnyCommand();
      expect(ecsMock).not.toHaveReceivedAnyCommand();
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
    ])('rejects a sourceAmi that does not exist (%s), never taking the lock', async (_, arrange) => {
      arrange();
      const error = await caught(handler(event({ trigger: 'manual', sourceAmi: 'ami-0ffffffffffffffff' })));
      expect(error.name).toBe('InvalidRequest');
      expect(error.message).toBe('sourceAmi: ami-0ffffffffffffffff does not exist in this region');
      expect(ddbMock).not.toHaveReceivedAnyCommand();
    });

    it('rejects a sourceAmi that is not available', async () => {
      ec2Mock.on(DescribeImagesCommand).resolves({ Images: [{ ImageId: 'ami-0ffffffffffffffff', State: 'pending' }] });
      const error = await caught(handler(event({ trigger: 'manual', sourceAmi: 'ami-0ffffffffffffffff' })));
      expect(error.name).toBe('InvalidRequest');
      expect(error.message).toBe('sourceAmi: ami-0ffffffffffffffff is pending, not available');
    });
  });

  describe('the fleet lock', () => {
    it.each(['RUNNING', 'PENDING_REDRIVE'])('gives way to a holder that is %s: skip, naming it and since when', async (status) => {
      lockHeldBy(EXEC('run-0'), status);
      const plan = await handler(event({ trigger: 'weekly' }));
      expect(plan.skip).toEqual({ runningExecutionArn: EXEC('run-0'), runningSince: '2026-01-01T09:00:00.000Z' });
      expect(plan.waves).toEqual(PLANNED_WAVES);
      expect(plan.currentAmiId).toBeUndefined();
      expect(plan.tookOverFrom).toBeUndefined();
      expect(sfnMock).toHaveReceivedCommandWith(DescribeExecutionCommand, { executionArn: EXEC('run-0') });
      expect(ddbMock).not.toHaveReceivedCommand(PutItemCommand);
      expect(ssmMock).not.toHaveReceivedCommandWith(GetParameterCommand, { Name: CURRENT });
      expect(cfnMock).not.toHaveReceivedAnyCommand();
    });

    it('goes on without writing when this run holds the lock already (a retried step)', async () => {
      lockHeldBy(EXEC('run-1'), 'RUNNING');
      const plan = await handler(event({ trigger: 'weekly' }));
      expect(plan.skip).toBeUndefined();
      expect(plan.tookOverFrom).toBeUndefined();
      expect(plan.currentAmiId).toBe(CURRENT_AMI);
      expect(sfnMock).not.toHaveReceivedAnyCommand();
      expect(ddbMock).not.toHaveReceivedCommand(PutItemCommand);
    });

    it.each([
      ['FAILED', 'FAILED'],
      ['ABORTED', 'ABORTED'],
      ['TIMED_OUT', 'TIMED_OUT'],
      ['gone', 'gone'],
    ])('takes the lock over from a holder that is %s, only from exactly that holder', async (status, reported) => {
      lockHeldBy(EXEC('run-0'), status);
      const plan = await handler(event({ trigger: 'manual' }));
      expect(plan.skip).toBeUndefined();
      expect(plan.tookOverFrom).toEqual({ executionArn: EXEC('run-0'), status: reported });
      expect(plan.currentAmiId).toBe(CURRENT_AMI);
      expect(lockWrite()).toEqual({
        TableName: TABLE,
        Item: {
          pk: { S: 'fleet-lock' },
          ownerExecutionArn: { S: EXEC('run-1') },
          acquiredAt: { S: NOW },
          trigger: { S: 'manual' },
          // Kept with the lock, so a retried check still reports the take-over.
          tookOverFrom: { S: EXEC('run-0') },
          tookOverStatus: { S: reported },
        },
        ConditionExpression: 'attribute_not_exists(pk) OR ownerExecutionArn = :me OR ownerExecutionArn = :stale',
        ExpressionAttributeValues: { ':me': { S: EXEC('run-1') }, ':stale': { S: EXEC('run-0') } },
      });
    });

    it('skips, naming the winner, when another run wrote the lock first (a lost race)', async () => {
      ddbMock
        .on(GetItemCommand)
        .resolvesOnce({})
        .resolves({ Item: { pk: { S: 'fleet-lock' }, ownerExecutionArn: { S: EXEC('run-2') }, acquiredAt: { S: '2026-01-01T10:00:01.000Z' } } });
      ddbMock.on(PutItemCommand).rejects(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }));
      const plan = await handler(event({ trigger: 'weekly' }));
      expect(plan.skip).toEqual({ runningExecutionArn: EXEC('run-2'), runningSince: '2026-01-01T10:00:01.000Z' });
      expect(plan.currentAmiId).toBeUndefined();
      expect(ddbMock).toHaveReceivedCommandTimes(GetItemCommand, 2);
      expect(cfnMock).not.toHaveReceivedAnyCommand();
    });

    it('skips with "another run" when the winner let go before it could be read', async () => {
      ddbMock.on(PutItemCommand).rejects(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }));
      const plan = await handler(event({ trigger: 'weekly' }));
      expect(plan.skip).toEqual({ runningExecutionArn: 'another run', runningSince: NOW });
    });

    it('fails on other DynamoDB errors, as transient when throttled', async () => {
      ddbMock.on(PutItemCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $fault: 'client', $metadata: {} }));
      const error = await caught(handler(event({ trigger: 'weekly' })));
      expect(error.name).toBe('TransientAwsError');
    });
  });

  describe('the wave order', () => {
    it('refuses clusters of a later wave without the earlier ones, naming them, before taking the lock', async () => {
      const error = await caught(handler(event({ trigger: 'manual', clusters: ['prod-a'] })));
      expect(error.name).toBe('InvalidRequest');
      expect(error.message).toBe(
        'clusters: prod-a-ecs would roll before dev-ecs (wave dev), whose wave comes first; add it to the run, or set skipEarlierWaves: true (CLI: --skip-earlier-waves) to roll without it',
      );
      expect(ddbMock).not.toHaveReceivedAnyCommand();
      expect(ssmMock).not.toHaveReceivedAnyCommand();
    });

    it('refuses regrouped waves that put a later cluster first, naming the waves field', async () => {
      const error = await caught(handler(event({ trigger: 'manual', waves: [['prod-a'], ['dev-ecs']] })));
      expect(error.message).toMatch(/^waves: prod-a-ecs would roll before dev-ecs \(wave dev\)/);
    });

    it('rolls a later wave alone with skipEarlierWaves, and says so in the plan', async () => {
      const plan = await handler(event({ trigger: 'manual', clusters: ['prod-a'], skipEarlierWaves: true }));
      expect(plan.waves).toEqual([PLANNED_WAVES[1]]);
      expect(plan.skipEarlierWaves).toBe(true);
      expect(plan.skip).toBeUndefined();
    });

    it('lets a bake dry run name any cluster: it rolls nothing', async () => {
      const plan = await handler(event({ trigger: 'manual', clusters: ['prod-a'], dryRun: true }));
      expect(plan.waves).toEqual([PLANNED_WAVES[1]]);
      expect(plan).not.toHaveProperty('skipEarlierWaves');
    });
  });

  describe('the preflight', () => {
    it('lists every problem of every target in plan.notReady, without throwing', async () => {
      cfnMock
        .on(DescribeStacksCommand, { StackName: 'dev-ecs' })
        .rejects(new CloudFormationServiceException({ name: 'ValidationError', $fault: 'client', $metadata: {}, message: 'Stack with id dev-ecs does not exist' }));
      cfnMock.on(DescribeStacksCommand, { StackName: 'prod-a-ecs' }).resolves({ Stacks: [stack('prod-a-ecs', 'ApplicationImageId', 'UPDATE_ROLLBACK_FAILED')] });
      ecsMock.on(DescribeClustersCommand).resolves({ clusters: [{ clusterName: 'prod-a', status: 'INACTIVE' }] });
      const plan = await handler(event({ trigger: 'weekly' }));
      expect(plan.notReady).toEqual([
        'stack dev-ecs does not exist in this account and region; fix the waves param or create the stack',
        'ECS cluster dev-cluster does not exist in this account and region; fix clusterName in the waves param',
        'stack prod-a-ecs is UPDATE_ROLLBACK_FAILED, from which CloudFormation accepts no update; repair it first',
        'stack prod-a-ecs has no parameter ImageId (its parameters: ApplicationImageId); set imageParameter for this target in the waves param',
        'ECS cluster prod-a is INACTIVE, not ACTIVE',
      ]);
      // The run still holds the fleet and keeps its plan: the message says what stays as it was.
      expect(plan.currentAmiId).toBe(CURRENT_AMI);
      expect(plan.sourceAmi).toEqual({ id: BASE, name: BASE_NAME });
    });

    it('does not count a busy stack as a problem', async () => {
      cfnMock.on(DescribeStacksCommand, { StackName: 'dev-ecs' }).resolves({ Stacks: [stack('dev-ecs', 'ApplicationImageId', 'UPDATE_IN_PROGRESS')] });
      expect((await handler(event({ trigger: 'weekly' }))).notReady).toBeUndefined();
    });

    it('checks only the clusters the run rolls', async () => {
      await handler(event({ trigger: 'manual', clusters: ['prod-a'], skipEarlierWaves: true }));
      expect(cfnMock).toHaveReceivedCommandTimes(DescribeStacksCommand, 1);
      expect(ecsMock).toHaveReceivedCommandWith(DescribeClustersCommand, { clusters: ['prod-a'] });
    });

    it('fails on a CloudFormation error that is not a missing stack', async () => {
      cfnMock
        .on(DescribeStacksCommand, { StackName: 'dev-ecs' })
        .rejects(new CloudFormationServiceException({ name: 'Throttling', $fault: 'client', $metadata: {}, message: 'Rate exceeded' }));
      expect((await caught(handler(event({ trigger: 'weekly' })))).name).toBe('TransientAwsError');
    });
  });

  describe('a rollback', () => {
    beforeEach(() => {
      ec2Mock.on(DescribeImagesCommand).callsFake(({ ImageIds }: { ImageIds: string[] }) => ({ Images: ImageIds.map((id) => pipelineImage(id)) }));
    });

    it('goes back to the newest earlier promoted image when every cluster is on the current one', async () => {
      promotions([OLDEST_AMI, PREVIOUS_AMI, CURRENT_AMI, CURRENT_AMI]);
      const plan = await handler(event({ trigger: 'manual', rollback: {} }));
      expect(plan.mode).toBe('rollback');
      expect(plan.rollbackTo).toEqual({
        amiId: PREVIOUS_AMI,
        baseAmiId: 'ami-0eeeeeeeeeeeeeeee',
        baseAmiName: 'al2023-base',
        buildId: `build-of-${PREVIOUS_AMI}`,
        why: `the newest image promoted before ${CURRENT_AMI} that no rollback moved away from`,
      });
      expect(plan.sourceAmi).toBeUndefined();
      expect(plan.currentAmiId).toBe(CURRENT_AMI);
      expect(ssmMock).toHaveReceivedCommandWith(GetParameterHistoryCommand, { Name: CURRENT });
      expect(ssmMock).toHaveReceivedCommandWith(GetParameterHistoryCommand, { Name: CURRENT_RECORD });
      expect(ssmMock).toHaveReceivedCommandWith(GetParametersCommand, { Names: [`${PREFIX}/clusters/dev-ecs`, `${PREFIX}/clusters/prod-a-ecs`] });
      expect(ssmMock).not.toHaveReceivedCommandWith(GetParameterCommand, { Name: RECOMMENDED });
      expect(ec2Mock).toHaveReceivedCommandWith(DescribeImagesCommand, { ImageIds: [PREVIOUS_AMI] });
    });

    it('puts every cluster back on the current image when a cluster confirmed another one', async () => {
      clusterRecords({ 'dev-ecs': NAMED_AMI, 'prod-a-ecs': CURRENT_AMI });
      const plan = await handler(event({ trigger: 'manual', rollback: {} }));
      expect(plan.rollbackTo).toMatchObject({
        amiId: CURRENT_AMI,
        why: `dev-ecs is not on the current image ${CURRENT_AMI}: putting every cluster back on it`,
      });
    });

    it('skips an image a rollback already moved the fleet away from', async () => {
      promotions(
        [OLDEST_AMI, PREVIOUS_AMI, CURRENT_AMI],
        [
          { amiId: OLDEST_AMI, reason: 'rollout' },
          { amiId: PREVIOUS_AMI, previousAmiId: OLDEST_AMI, reason: 'rollout' },
          { amiId: CURRENT_AMI, previousAmiId: PREVIOUS_AMI, reason: 'rollback' },
        ],
      );
      const plan = await handler(event({ trigger: 'manual', rollback: {} }));
      expect(plan.rollbackTo?.amiId).toBe(OLDEST_AMI);
    });

    it.each([
      [
        'the current parameter does not exist',
        () => {
          promotions([]);
          ssmMock.on(GetParameterCommand, { Name: CURRENT }).rejects(notFound(CURRENT));
          ssmMock.on(GetParameterHistoryCommand).rejects(notFound(CURRENT));
        },
      ],
      ['it only ever held one AMI', () => promotions([CURRENT_AMI, CURRENT_AMI])],
    ])('rejects a rollback with nothing to roll back to when %s, naming rollback.toAmi', async (_, arrange) => {
      arrange();
      const error = await caught(handler(event({ trigger: 'manual', rollback: {} })));
      expect(error.name).toBe('InvalidRequest');
      expect(error.message).toBe('rollback.toAmi: no earlier promoted image to roll back to; name one with {"rollback": {"toAmi": "ami-..."}}');
      expect(ec2Mock).not.toHaveReceivedAnyCommand();
      expect(ddbMock).not.toHaveReceivedAnyCommand();
    });

    it('rolls back to a named AMI without reading the history', async () => {
      const plan = await handler(event({ trigger: 'manual', rollback: { toAmi: NAMED_AMI } }));
      expect(plan.rollbackTo).toEqual({ amiId: NAMED_AMI, baseAmiId: 'ami-0eeeeeeeeeeeeeeee', baseAmiName: 'al2023-base', buildId: `build-of-${NAMED_AMI}` });
      expect(plan.waves).toEqual(PLANNED_WAVES);
      expect(ssmMock).not.toHaveReceivedCommand(GetParameterHistoryCommand);
    });

    it('lets a named rollback skip earlier clusters that already confirmed the image', async () => {
      clusterRecords({ 'dev-ecs': NAMED_AMI, 'prod-a-ecs': CURRENT_AMI });
      const plan = await handler(event({ trigger: 'manual', rollback: { toAmi: NAMED_AMI }, clusters: ['prod-a'] }));
      expect(plan.waves).toEqual([PLANNED_WAVES[1]]);
      expect(plan.skipEarlierWaves).toBeUndefined();
    });

    it('refuses a named rollback of a later wave while an earlier cluster is on another image', async () => {
      const error = await caught(handler(event({ trigger: 'manual', rollback: { toAmi: NAMED_AMI }, clusters: ['prod-a'] })));
      expect(error.name).toBe('InvalidRequest');
      expect(error.message).toMatch(/^clusters: prod-a-ecs would roll before dev-ecs \(wave dev\)/);
      expect(ddbMock).not.toHaveReceivedAnyCommand();
    });

    it.each([
      [[], `rollback.toAmi: ${NAMED_AMI} does not exist in this region (deregistered?)`],
      [[pipelineImage(NAMED_AMI, 'deregistered')], `rollback.toAmi: ${NAMED_AMI} is deregistered, not available`],
      [
        [pipelineImage(NAMED_AMI, 'available', 'someone-else')],
        `rollback.toAmi: ${NAMED_AMI} was not baked by this pipeline (no ManagedBy=ecs-ami-pipeline tag); only pipeline images can be rolled back to`,
      ],
    ])('rejects a rollback target that is unusable (%#)', async (images, message) => {
      ec2Mock.on(DescribeImagesCommand).resolves({ Images: images });
      const error = await caught(handler(event({ trigger: 'manual', rollback: { toAmi: NAMED_AMI } })));
      expect(error.name).toBe('InvalidRequest');
      expect(error.message).toBe(message);
    });
  });

  it('rejects invalid input before calling AWS', async () => {
    const error = await caught(handler(event({ trigger: 'manual', clusters: ['staging'] })));
    expect(error.name).toBe('InvalidRequest');
    expect(error.message).toMatch(/^clusters\[0\]: "staging" is not a configured cluster or stack/);
    for (const mock of [ssmMock, sfnMock, ec2Mock, ddbMock, cfnMock, ecsMock]) expect(mock).not.toHaveReceivedAnyCommand();
  });

  it('fails with ConfigurationError when the waves are not configured', async () => {
    unsetEnv('CLUSTER_WAVES');
    const error = await caught(handler(event({ trigger: 'weekly' })));
    expect(error.name).toBe('ConfigurationError');
    expect(error.message).toBe('CLUSTER_WAVES is not set; configure the stage\'s waves in serverless.yml params and redeploy');
  });

  it('fails when the parameter prefix or the run ledger is not set', async () => {
    unsetEnv('PARAMETER_PREFIX');
    expect((await caught(handler(event({ trigger: 'weekly' })))).message).toBe('environment variable PARAMETER_PREFIX is not set; it comes from serverless.yml');
    process.env.PARAMETER_PREFIX = PREFIX;
    unsetEnv('RUN_LEDGER_TABLE');
    expect((await caught(handler(event({ trigger: 'weekly' })))).message).toBe('environment variable RUN_LEDGER_TABLE is not set; it comes from serverless.yml');
    expect(ddbMock).not.toHaveReceivedAnyCommand();
  });

  it('turns throttling into TransientAwsError for the state machine to retry', async () => {
    ssmMock.on(GetParameterCommand, { Name: RECOMMENDED }).rejects(new SSMServiceException({ name: 'ThrottlingException', $fault: 'client', $metadata: {}, message: 'Rate exceeded' }));
    const error = await caught(handler(event({ trigger: 'weekly' })));
    expect(error.name).toBe('TransientAwsError');
    expect(error.message).toBe('ThrottlingException: Rate exceeded');
  });
});
