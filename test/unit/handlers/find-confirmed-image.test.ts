import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { CloudFormationClient, CloudFormationServiceException, DescribeStacksCommand, type Stack } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { DescribeContainerInstancesCommand, ECSClient, ListContainerInstancesCommand, type ContainerInstance } from '@aws-sdk/client-ecs';
import { GetParameterCommand, ParameterNotFound, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { handler, type FindConfirmedImageEvent } from '../../../functions/find-confirmed-image/handler';
import type { ClusterRecord } from '../../../functions/lib/contracts';
import { caught, freezeTime, useEnv } from './env';

const cfnMock = mockClient(CloudFormationClient);
const asgMock = mockClient(AutoScalingClient);
const ecsMock = mockClient(ECSClient);
const ssmMock = mockClient(SSMClient);
const ddbMock = mockClient(DynamoDBClient);

const PREFIX = '/ecs-ami-pipeline/prod';
const RECORD = `${PREFIX}/clusters/prod-ecs`;
const TABLE = 'ecs-ami-pipeline-prod-runs';
const EXEC = 'arn:aws:states:eu-west-1:123456789012:execution:ecs-ami-pipeline-prod:weekly-1';
const OTHER = 'arn:aws:states:eu-west-1:123456789012:execution:ecs-ami-pipeline-prod:manual-9';
const OLD = 'ami-0aaaaaaaaaaaaaaaa';
const NEW = 'ami-0bbbbbbbbbbbbbbbb';
const NOW = '2026-01-01T10:30:00.000Z';

useEnv({ AWS_REGION: 'eu-west-1', PARAMETER_PREFIX: PREFIX, RUN_LEDGER_TABLE: TABLE });

const event: FindConfirmedImageEvent = {
  executionArn: EXEC,
  runId: 'weekly-1',
  target: { stackName: 'prod-ecs', clusterName: 'prod', imageParameter: 'ApplicationImageId' },
};

const existing: ClusterRecord = {
  stackName: 'prod-ecs',
  clusterName: 'prod',
  amiId: OLD,
  purpose: 'rollback',
  runId: 'manual-3',
  executionArn: OTHER,
  confirmedAt: '2025-12-24T08:00:00.000Z',
  summary: `2/2 instances ACTIVE and connected on ${OLD}`,
};

/** The stack, its image parameter set to `image` (null: the stack has no such parameter). */
function stack(image: string | null = OLD): Stack {
  return {
    StackName: 'prod-ecs',
    CreationTime: new Date(),
    StackStatus: 'UPDATE_COMPLETE',
    Parameters: image === null ? [] : [{ ParameterKey: 'ApplicationImageId', ParameterValue: image }],
    Outputs: [{ OutputKey: 'AutoScalingGroupName', OutputValue: 'prod-asg' }],
  };
}

function instances(...amis: string[]) {
  const all: ContainerInstance[] = amis.map((amiId, i) => ({
    containerInstanceArn: `arn:ci/${i}`,
    status: 'ACTIVE',
    agentConnected: true,
    attributes: [{ name: 'ecs.ami-id', value: amiId }],
  }));
  ecsMock.on(ListContainerInstancesCommand).resolves({ containerInstanceArns: all.map((i) => i.containerInstanceArn!) });
  ecsMock.on(DescribeContainerInstancesCommand).resolves({ containerInstances: all });
}

function record(value: string | undefined) {
  if (value === undefined) ssmMock.on(GetParameterCommand, { Name: RECORD }).rejects(new ParameterNotFound({ message: 'not found', $metadata: {} }));
  else ssmMock.on(GetParameterCommand, { Name: RECORD }).resolves({ Parameter: { Name: RECORD, Value: value } });
}

beforeEach(() => {
  for (const mock of [cfnMock, asgMock, ecsMock, ssmMock, ddbMock]) mock.reset();
  freezeTime(NOW);
  record(undefined);
  cfnMock.on(DescribeStacksCommand, { StackName: 'prod-ecs' }).resolves({ Stacks: [stack()] });
  asgMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [{ AutoScalingGroupName: 'prod-asg', DesiredCapacity: 2 } as never] });
  instances(OLD, OLD);
  ddbMock.on(GetItemCommand).resolves({ Item: { pk: { S: 'fleet-lock' }, ownerExecutionArn: { S: EXEC }, acquiredAt: { S: NOW } } });
  ssmMock.on(PutParameterCommand).resolves({ Version: 1 });
});
afterEach(() => jest.useRealTimers());
afterAll(() => {
  for (const mock of [cfnMock, asgMock, ecsMock, ssmMock, ddbMock]) mock.restore();
});

describe('find-confirmed-image handler', () => {
  it('answers from the cluster record when there is one, looking nothing else up', async () => {
    record(JSON.stringify(existing));
    await expect(handler(event)).resolves.toEqual({
      copyOf: null,
      amiId: OLD,
      source: 'record',
      detail: 'confirmed 2025-12-24T08:00:00.000Z by run manual-3 (rollback)',
      startedAt: NOW,
    });
    expect(ssmMock).toHaveReceivedCommandWith(GetParameterCommand, { Name: RECORD });
    expect(cfnMock).not.toHaveReceivedAnyCommand();
    expect(ecsMock).not.toHaveReceivedAnyCommand();
    expect(ssmMock).not.toHaveReceivedCommand(PutParameterCommand);
    expect(ddbMock).not.toHaveReceivedAnyCommand();
  });

  it('adopts the stack\'s image when the ECS API confirms the cluster on it, writing an adopted record after the fence', async () => {
    await expect(handler(event)).resolves.toEqual({
      copyOf: null,
      amiId: OLD,
      source: 'adopted',
      detail: `adopted: 2/2 instances ACTIVE and connected on ${OLD}`,
      startedAt: NOW,
    });
    expect(asgMock).toHaveReceivedCommandWith(DescribeAutoScalingGroupsCommand, { AutoScalingGroupNames: ['prod-asg'] });
    expect(ddbMock).toHaveReceivedCommandWith(GetItemCommand, { TableName: TABLE, Key: { pk: { S: 'fleet-lock' } }, ConsistentRead: true });
    expect(ssmMock).toHaveReceivedCommandTimes(PutParameterCommand, 1);
    const put = ssmMock.commandCalls(PutParameterCommand)[0]!.args[0].input;
    expect(put).toMatchObject({ Name: RECORD, Overwrite: true, DataType: 'text', Description: 'Image cluster prod last confirmed (adopted, run weekly-1)' });
    expect(JSON.parse(put.Value!)).toEqual({
      stackName: 'prod-ecs',
      clusterName: 'prod',
      amiId: OLD,
      purpose: 'adopted',
      runId: 'weekly-1',
      executionArn: EXEC,
      confirmedAt: NOW,
      summary: `2/2 instances ACTIVE and connected on ${OLD}`,
    });
  });

  it('takes a record edited by hand for no record', async () => {
    record(JSON.stringify({ ...existing, amiId: 'the old one' }));
    await expect(handler(event)).resolves.toMatchObject({ amiId: OLD, source: 'adopted' });
    record('{not json');
    await expect(handler(event)).resolves.toMatchObject({ source: 'adopted' });
  });

  it('has no known-good image when the cluster is not confirmed on the stack\'s image, writing nothing', async () => {
    instances(OLD, NEW);
    await expect(handler(event)).resolves.toEqual({
      copyOf: null,
      amiId: null,
      source: 'none',
      detail: `never confirmed by the pipeline, and not confirmed on ${OLD} now: 1/2 instances ACTIVE and connected on ${OLD}; 1 still on other AMIs (${NEW}: 1)`,
      startedAt: NOW,
    });
    expect(ssmMock).not.toHaveReceivedCommand(PutParameterCommand);
    expect(ddbMock).not.toHaveReceivedAnyCommand();
  });

  it.each([
    ['has no image parameter', null],
    ['names no AMI in it', ''],
    ['names something that is not an AMI', 'resolve:ssm:/images/current'],
  ])('has no known-good image when the stack %s, asking ECS nothing', async (_, image) => {
    cfnMock.on(DescribeStacksCommand).resolves({ Stacks: [stack(image)] });
    await expect(handler(event)).resolves.toEqual({
      copyOf: null,
      amiId: null,
      source: 'none',
      detail: 'stack prod-ecs names no image in ApplicationImageId',
      startedAt: NOW,
    });
    expect(ecsMock).not.toHaveReceivedAnyCommand();
    expect(ssmMock).not.toHaveReceivedCommand(PutParameterCommand);
  });

  it('writes no adopted record when another run holds the fleet', async () => {
    ddbMock.on(GetItemCommand).resolves({ Item: { pk: { S: 'fleet-lock' }, ownerExecutionArn: { S: OTHER }, acquiredAt: { S: NOW } } });
    const error = await caught(handler(event));
    expect(error.name).toBe('FleetHeldByAnotherRun');
    expect(ssmMock).not.toHaveReceivedCommand(PutParameterCommand);
  });

  it('fails with StackNotRollable when the stack does not exist', async () => {
    cfnMock
      .on(DescribeStacksCommand)
      .rejects(new CloudFormationServiceException({ name: 'ValidationError', $fault: 'client', $metadata: {}, message: 'Stack with id prod-ecs does not exist' }));
    const error = await caught(handler(event));
    expect(error.name).toBe('StackNotRollable');
    expect(ssmMock).not.toHaveReceivedCommand(PutParameterCommand);
  });
});
