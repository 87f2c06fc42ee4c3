import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { CloudFormationClient, DescribeStackResourcesCommand, DescribeStacksCommand, type Stack } from '@aws-sdk/client-cloudformation';
import { DescribeContainerInstancesCommand, ECSClient, ListContainerInstancesCommand, type ContainerInstance } from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { handler, type ConfirmRegistrationEvent } from '../../../functions/confirm-registration/handler';
import { caught, freezeTime, useEnv } from './env';

const cfnMock = mockClient(CloudFormationClient);
const asgMock = mockClient(AutoScalingClient);
const ecsMock = mockClient(ECSClient);

const NEW = 'ami-0bbbbbbbbbbbbbbbb';
const OLD = 'ami-0aaaaaaaaaaaaaaaa';
const SETTLED = '2026-01-01T11:00:00.000Z';
const arn = (i: number) => `arn:aws:ecs:eu-west-1:123456789012:container-instance/prod/${i}`;

useEnv({ AWS_REGION: 'eu-west-1', REGISTRATION_TIMEOUT_SECONDS: '600' });

const event: ConfirmRegistrationEvent = {
  executionArn: 'arn:aws:states:eu-west-1:123456789012:execution:m:weekly-1',
  target: { stackName: 'prod-ecs', clusterName: 'prod', imageParameter: 'ApplicationImageId' },
  amiId: NEW,
  since: SETTLED,
};

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

  it('fails with RegistrationPending before the deadline (the state machine retries)', async () => {
    freezeTime('2026-01-01T11:09:59.000Z');
    cluster([instance(1, NEW), instance(2, OLD, 'DRAINING'), instance(3, NEW, 'ACTIVE', false)]);
    const error = await caught(handler(event));
    expect(error.name).toBe('RegistrationPending');
    expect(error.message).toBe(
      `cluster prod: 1/2 instances ACTIVE and connected on ${NEW}; 1 on ${NEW} not ready yet; 1 old instance(s) draining`,
    );
  });

  it('fails with RegistrationTimedOut once the deadline after the stack settled has passed', async () => {
    freezeTime('2026-01-01T11:10:00.000Z');
    cluster([instance(1, NEW)]);
    const error = await caught(handler(event));
    expect(error.name).toBe('RegistrationTimedOut');
    expect(error.message).toBe(`cluster prod did not confirm ${NEW} within 600 s of the stack settling: 1/2 instances ACTIVE and connected on ${NEW}`);
  });

  it.each([undefined, 'soon', '0', '-5'])('waits the default 900 s when the timeout setting is %p', async (value) => {
    if (value === undefined) delete process.env.REGISTRATION_TIMEOUT_SECONDS;
    else process.env.REGISTRATION_TIMEOUT_SECONDS = value;
    cluster([]);
    freezeTime('2026-01-01T11:14:59.000Z');
    expect((await caught(handler(event))).name).toBe('RegistrationPending');
    freezeTime('2026-01-01T11:15:00.000Z');
    const error = await caught(handler(event));
    expect(error.name).toBe('RegistrationTimedOut');
    expect(error.message).toContain('within 900 s');
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
