import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { CloudFormationClient, DescribeStackResourcesCommand, DescribeStacksCommand, type Stack } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { DescribeContainerInstancesCommand, ECSClient, ListContainerInstancesCommand, type ContainerInstance } from '@aws-sdk/client-ecs';
import { GetParameterCommand, ParameterNotFound, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { handler, type ConfirmRegistrationEvent } from '../../../functions/confirm-registration/handler';
import type { ClusterRecord } from '../../../functions/lib/contracts';
import { caught, freezeTime, useEnv } from './env';

const cfnMock = mockClient(CloudFormationClient);
const asgMock = mockClient(AutoScalingClient);
const ecsMock = mockClient(ECSClient);
const ssmMock = mockClient(SSMClient);
const ddbMock = mockClient(DynamoDBClient);

const NEW = 'ami-0bbbbbbbbbbbbbbbb';
const OLD = 'ami-0aaaaaaaaaaaaaaaa';
const SETTLED = '2026-01-01T11:00:00.000Z';
const arn = (i: number) => `arn:aws:ecs:eu-west-1:123456789012:container-instance/prod/${i}`;

const PREFIX = '/ecs-ami-pipeline/prod';
const RECORD = `${PREFIX}/clusters/prod-ecs`;
const TABLE = 'ecs-ami-pipeline-prod-runs';
const EXEC = 'arn:aws:states:eu-west-1:123456789012:execution:m:weekly-1';
const OTHER = 'arn:aws:states:eu-west-1:123456789012:execution:m:manual-9';

useEnv({ AWS_REGION: 'eu-west-1', REGISTRATION_TIMEOUT_SECONDS: '600', PARAMETER_PREFIX: PREFIX, RUN_LEDGER_TABLE: TABLE });

const event: ConfirmRegistrationEvent = {
  executionArn: EXEC,
  runId: 'weekly-1',
  target: { stackName: 'prod-ecs', clusterName: 'prod', imageParameter: 'ApplicationImageId' },
  amiId: NEW,
  since: SETTLED,
  purpose: 'rollout',
};

/** The order in which the fence and the record write happened. */
let calls: string[] = [];

function existingRecord(record: Partial<ClusterRecord> | undefined) {
  if (record) ssmMock.on(GetParameterCommand, { Name: RECORD }).resolves({ Parameter: { Name: RECORD, Value: JSON.stringify(record) } });
  else ssmMock.on(GetParameterCommand, { Name: RECORD }).rejects(new ParameterNotFound({ message: 'not found', $metadata: {} }));
}

function lockHeldBy(owner: string) {
  ddbMock.on(GetItemCommand).callsFake(() => {
    calls.push('fence');
    return { Item: { pk: { S: 'fleet-lock' }, ownerExecutionArn: { S: owner }, acquiredAt: { S: SETTLED } } };
  });
}

function writtenRecord(): ClusterRecord {
  expect(ssmMock).toHaveReceivedCommandTimes(PutParameterCommand, 1);
  return JSON.parse(ssmMock.commandCalls(PutParameterCommand)[0]!.args[0].input.Value!);
}

function stack(outputs: Stack['Outputs'] = [{ OutputKey: 'AutoScalingGroupName', OutputValue: 'prod-asg' }]): Stack {
  return { StackName: 'prod-ecs', CreationTime: new Date(), StackStatus: 'UPDATE_COMPLETE', Outputs: outputs };
}

function instance(i: number, amiId: string, status = 'ACTIVE', agentConnected = true): ContainerInstance {
  return {
    containerInstanceArn: arn(i),
    ec2InstanceId: `i-${i}`,
    status,
    agentConnected,
    attributes: [
      { name: 'ecs.os-type', value: 'linux' },
      { name: 'ecs.ami-id', value: amiId },
    ],
  };
}

/** ECS answers ListContainerInstances with these ARNs and DescribeContainerInstances with these instances. */
function cluster(instances: ContainerInstance[]) {
  ecsMock.on(ListContainerInstancesCommand).resolves({ containerInstanceArns: instances.map((i) => i.containerInstanceArn!) });
  ecsMock.on(DescribeContainerInstancesCommand).callsFake(({ containerInstances }: { containerInstances: string[] }) => ({
    containerInstances: instances.filter((i) => containerInstances.includes(i.containerInstanceArn!)),
  }));
}

beforeEach(() => {
  cfnMock.reset();
  asgMock.reset();
  ecsMock.reset();
  ssmMock.reset();
  ddbMock.reset();
  calls = [];
  existingRecord(undefined);
  lockHeldBy(EXEC);
  ssmMock.on(PutParameterCommand).callsFake(() => {
    calls.push('write');
    return { Version: 1 };
  });
  cfnMock.on(DescribeStacksCommand, { StackName: 'prod-ecs' }).resolves({ Stacks: [stack()] });
  asgMock.on(DescribeAutoScalingGroupsCommand).resolves({
    AutoScalingGroups: [{ AutoScalingGroupName: 'prod-asg', DesiredCapacity: 2, MinSize: 1, MaxSize: 4, DefaultCooldown: 300, AvailabilityZones: [], HealthCheckType: 'EC2', CreatedTime: new Date() }],
  });
  cluster([instance(1, NEW), instance(2, NEW)]);
});
afterEach(() => jest.useRealTimers());
afterAll(() => {
  cfnMock.restore();
  asgMock.restore();
  ecsMock.restore();
  ssmMock.restore();
  ddbMock.restore();
});

describe('confirm-registration handler', () => {
  it('confirms when the group\'s desired capacity is ACTIVE and connected on the new AMI', async () => {
    const now = freezeTime('2026-01-01T11:03:00.000Z');
    await expect(handler(event)).resolves.toEqual({
      confirmed: true,
      summary: `2/2 instances ACTIVE and connected on ${NEW}`,
      checkedAt: now.toISOString(),
    });
    expect(cfnMock).not.toHaveReceivedCommand(DescribeStackResourcesCommand);
    expect(asgMock).toHaveReceivedCommandWith(DescribeAutoScalingGroupsCommand, { AutoScalingGroupNames: ['prod-asg'] });
    expect(ecsMock).toHaveReceivedCommandWith(ListContainerInstancesCommand, { cluster: 'prod', maxResults: 100 });
    expect(ecsMock).toHaveReceivedCommandWith(DescribeContainerInstancesCommand, { cluster: 'prod', containerInstances: [arn(1), arn(2)] });
  });

  it('writes the cluster record after the fence, before it answers', async () => {
    const now = freezeTime('2026-01-01T11:03:00.000Z');
    await handler(event);
    expect(ssmMock).toHaveReceivedCommandWith(GetParameterCommand, { Name: RECORD });
    expect(ddbMock).toHaveReceivedCommandWith(GetItemCommand, { TableName: TABLE, Key: { pk: { S: 'fleet-lock' } }, ConsistentRead: true });
    expect(ddbMock).not.toHaveReceivedCommand(PutItemCommand);
    expect(calls).toEqual(['fence', 'write']);
    expect(ssmMock).toHaveReceivedCommandWith(PutParameterCommand, {
      Name: RECORD,
      Type: 'String',
      DataType: 'text',
      Overwrite: true,
      Description: 'Image cluster prod last confirmed (rollout, run weekly-1)',
    });
    expect(writtenRecord()).toEqual({
      stackName: 'prod-ecs',
      clusterName: 'prod',
      amiId: NEW,
      purpose: 'rollout',
      runId: 'weekly-1',
      executionArn: EXEC,
      confirmedAt: now.toISOString(),
      summary: `2/2 instances ACTIVE and connected on ${NEW}`,
    });
  });

  it('records a confirmed rollback as such', async () => {
    cluster([instance(1, OLD), instance(2, OLD)]);
    await expect(handler({ ...event, amiId: OLD, purpose: 'rollback' })).resolves.toMatchObject({ confirmed: true });
    expect(writtenRecord()).toMatchObject({ amiId: OLD, purpose: 'rollback', executionArn: EXEC });
  });

  it('does not write its own record twice (a retry after a lost answer)', async () => {
    existingRecord({ stackName: 'prod-ecs', clusterName: 'prod', amiId: NEW, purpose: 'rollout', runId: 'weekly-1', executionArn: EXEC, confirmedAt: SETTLED });
    await expect(handler(event)).resolves.toMatchObject({ confirmed: true });
    expect(ssmMock).not.toHaveReceivedCommand(PutParameterCommand);
    expect(ddbMock).not.toHaveReceivedAnyCommand();
  });

  it.each([
    ['another image', { amiId: OLD, executionArn: EXEC }],
    ['the same image, confirmed by another run', { amiId: NEW, executionArn: OTHER }],
  ])('overwrites a record of %s', async (_, record) => {
    existingRecord({ stackName: 'prod-ecs', clusterName: 'prod', purpose: 'rollout', runId: 'x', confirmedAt: SETTLED, ...record });
    await handler(event);
    expect(writtenRecord()).toMatchObject({ amiId: NEW, executionArn: EXEC, runId: 'weekly-1' });
  });

  it('writes no record when another run holds the fleet (FleetHeldByAnotherRun)', async () => {
    lockHeldBy(OTHER);
    const error = await caught(handler(event));
    expect(error.name).toBe('FleetHeldByAnotherRun');
    expect(error.message).toBe(`run ${OTHER} holds the fleet; this run (${EXEC}) changes nothing more`);
    expect(ssmMock).not.toHaveReceivedCommand(PutParameterCommand);
  });

  it('finds the group through DescribeStackResources when the stack has no AutoScalingGroupName output', async () => {
    cfnMock.on(DescribeStacksCommand).resolves({ Stacks: [stack([])] });
    cfnMock.on(DescribeStackResourcesCommand, { StackName: 'prod-ecs' }).resolves({
      StackResources: [
        { LogicalResourceId: 'LaunchTemplate', ResourceType: 'AWS::EC2::LaunchTemplate', PhysicalResourceId: 'lt-1', ResourceStatus: 'UPDATE_COMPLETE', Timestamp: new Date() },
        { LogicalResourceId: 'Asg', ResourceType: 'AWS::AutoScaling::AutoScalingGroup', PhysicalResourceId: 'prod-ecs-Asg-XYZ', ResourceStatus: 'UPDATE_COMPLETE', Timestamp: new Date() },
      ],
    });
    await expect(handler(event)).resolves.toMatchObject({ confirmed: true });
    expect(asgMock).toHaveReceivedCommandWith(DescribeAutoScalingGroupsCommand, { AutoScalingGroupNames: ['prod-ecs-Asg-XYZ'] });
  });

  it('fails clearly when the stack has no Auto Scaling group', async () => {
    cfnMock.on(DescribeStacksCommand).resolves({ Stacks: [stack([])] });
    cfnMock.on(DescribeStackResourcesCommand).resolves({ StackResources: [] });
    const error = await caught(handler(event));
    expect(error.message).toBe('stack prod-ecs has no Auto Scaling group; the pipeline confirms registration against the group the stack owns');
    expect(asgMock).not.toHaveReceivedAnyCommand();
  });

  it('fails with StackNotRollable when the group does not exist', async () => {
    asgMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [] });
    const error = await caught(handler(event));
    expect(error.name).toBe('StackNotRollable');
    expect(error.message).toBe('Auto Scaling group prod-asg of stack prod-ecs does not exist');
  });

  it('fails with RegistrationPending before the deadline (the state machine retries), writing nothing', async () => {
    freezeTime('2026-01-01T11:09:59.000Z');
    cluster([instance(1, NEW), instance(2, OLD, 'DRAINING'), instance(3, NEW, 'ACTIVE', false)]);
    const error = await caught(handler(event));
    expect(error.name).toBe('RegistrationPending');
    expect(error.message).toBe(
      `cluster prod: 1/2 instances ACTIVE and connected on ${NEW}; 1 on ${NEW} not ready yet; 1 old instance(s) draining`,
    );
    expect(ssmMock).not.toHaveReceivedAnyCommand();
    expect(ddbMock).not.toHaveReceivedAnyCommand();
  });

  it('fails with RegistrationTimedOut once the deadline after the stack settled has passed', async () => {
    freezeTime('2026-01-01T11:10:00.000Z');
    cluster([instance(1, NEW)]);
    const error = await caught(handler(event));
    expect(error.name).toBe('RegistrationTimedOut');
    expect(error.message).toBe(`cluster prod did not confirm ${NEW} within 600 s of the stack settling: 1/2 instances ACTIVE and connected on ${NEW}`);
  });

  it('waits the default 900 s when the timeout is not set', async () => {
    delete process.env.REGISTRATION_TIMEOUT_SECONDS;
    cluster([]);
    freezeTime('2026-01-01T11:14:59.000Z');
    expect((await caught(handler(event))).name).toBe('RegistrationPending');
    freezeTime('2026-01-01T11:15:00.000Z');
    const error = await caught(handler(event));
    expect(error.name).toBe('RegistrationTimedOut');
    expect(error.message).toContain('within 900 s');
  });

  it.each(['soon', '0', '-5'])('refuses a timeout setting of %p with ConfigurationError', async (value) => {
    process.env.REGISTRATION_TIMEOUT_SECONDS = value;
    cluster([]);
    const error = await caught(handler(event));
    expect(error.name).toBe('ConfigurationError');
    expect(error.message).toBe(
      `REGISTRATION_TIMEOUT_SECONDS is ${JSON.stringify(value)}; it must be a positive number (set by serverless.yml from the stage params)`,
    );
  });

  it('reads every page of container instances and describes them in batches of 100', async () => {
    asgMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [{ AutoScalingGroupName: 'prod-asg', DesiredCapacity: 150 } as never] });
    const all = Array.from({ length: 150 }, (_, i) => instance(i, NEW));
    ecsMock
      .on(ListContainerInstancesCommand, { nextToken: undefined })
      .resolves({ containerInstanceArns: all.slice(0, 100).map((i) => i.containerInstanceArn!), nextToken: 'page-2' })
      .on(ListContainerInstancesCommand, { nextToken: 'page-2' })
      .resolves({ containerInstanceArns: all.slice(100).map((i) => i.containerInstanceArn!) });
    ecsMock.on(DescribeContainerInstancesCommand).callsFake(({ containerInstances }: { containerInstances: string[] }) => ({
      containerInstances: all.filter((i) => containerInstances.includes(i.containerInstanceArn!)),
    }));
    await expect(handler(event)).resolves.toMatchObject({ confirmed: true, summary: `150/150 instances ACTIVE and connected on ${NEW}` });
    expect(ecsMock).toHaveReceivedCommandTimes(ListContainerInstancesCommand, 2);
    expect(ecsMock).toHaveReceivedCommandWith(ListContainerInstancesCommand, { cluster: 'prod', nextToken: 'page-2' });
    expect(ecsMock).toHaveReceivedCommandTimes(DescribeContainerInstancesCommand, 2);
    const batches = ecsMock.commandCalls(DescribeContainerInstancesCommand).map((c) => c.args[0].input.containerInstances!);
    expect(batches.map((b) => b.length)).toEqual([100, 50]);
    expect(batches.flat()).toEqual(all.map((i) => i.containerInstanceArn));
  });

  it('describes nothing for an empty cluster and confirms when the group desires 0', async () => {
    asgMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [{ AutoScalingGroupName: 'prod-asg', DesiredCapacity: 0 } as never] });
    cluster([]);
    await expect(handler(event)).resolves.toMatchObject({ confirmed: true });
    expect(ecsMock).not.toHaveReceivedCommand(DescribeContainerInstancesCommand);
  });

  it('counts an instance without the ecs.ami-id attribute as on an unknown AMI', async () => {
    freezeTime('2026-01-01T11:01:00.000Z');
    cluster([instance(1, NEW), instance(2, NEW), { containerInstanceArn: arn(3), status: 'ACTIVE', agentConnected: true }]);
    expect((await caught(handler(event))).message).toContain('1 still on other AMIs (unknown AMI: 1)');
  });
});
