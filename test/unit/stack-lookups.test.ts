import {
  type StackEvent,
  CloudFormationClient,
  CloudFormationServiceException,
  DescribeStackEventsCommand,
  DescribeStackResourcesCommand,
  DescribeStacksCommand,
} from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { describeStack, stackEventsSince, stackOutputs, stackResources, stackView } from '../../functions/lib/aws/stack-lookups';

const cfnMock = mockClient(CloudFormationClient);
const cfn = new CloudFormationClient({ region: 'eu-west-1' });
const cfnError = (name: string, message: string) => new CloudFormationServiceException({ name, $fault: 'client', $metadata: {}, message });
const STACK = { StackName: 'prod-ecs', StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date() } as const;

beforeEach(() => cfnMock.reset());
afterAll(() => cfnMock.restore());

describe('describeStack', () => {
  it('returns the stack', async () => {
    cfnMock.on(DescribeStacksCommand, { StackName: 'prod-ecs' }).resolves({ Stacks: [STACK] });
    await expect(describeStack(cfn, 'prod-ecs')).resolves.toBe(STACK);
  });

  it.each([
    ['a ValidationError', () => cfnMock.on(DescribeStacksCommand).rejects(cfnError('ValidationError', 'Stack with id prod-ecs does not exist'))],
    ['an empty answer', () => cfnMock.on(DescribeStacksCommand).resolves({ Stacks: [] })],
  ])('fails with StackNotRollable when the stack does not exist (%s)', async (_, arrange) => {
    arrange();
    await expect(describeStack(cfn, 'prod-ecs')).rejects.toMatchObject({
      name: 'StackNotRollable',
      message: 'stack prod-ecs does not exist in this account and region; fix the waves param or create the stack',
    });
  });

  it('passes other errors on', async () => {
    cfnMock.on(DescribeStacksCommand).rejects(cfnError('Throttling', 'Rate exceeded'));
    await expect(describeStack(cfn, 'prod-ecs')).rejects.toMatchObject({ name: 'Throttling', message: 'Rate exceeded' });
  });
});

describe('stackView and stackOutputs', () => {
  it('reduce a stack to what the rollout decides on', () => {
    const stack = {
      ...STACK,
      Parameters: [
        { ParameterKey: 'ApplicationImageId', ParameterValue: 'ami-0aaaaaaaaaaaaaaaa' },
        { ParameterKey: 'Latest', ParameterValue: '/aws/service/x', ResolvedValue: 'ami-0bbbbbbbbbbbbbbbb' },
      ],
      Outputs: [{ OutputKey: 'AutoScalingGroupName', OutputValue: 'asg-1' }, { OutputKey: 'Empty' }],
    };
    expect(stackView('prod-ecs', stack)).toEqual({
      stackName: 'prod-ecs',
      status: 'UPDATE_COMPLETE',
      parameters: [
        { key: 'ApplicationImageId', value: 'ami-0aaaaaaaaaaaaaaaa', resolvedValue: undefined },
        { key: 'Latest', value: '/aws/service/x', resolvedValue: 'ami-0bbbbbbbbbbbbbbbb' },
      ],
    });
    expect(stackOutputs(stack)).toEqual([
      { key: 'AutoScalingGroupName', value: 'asg-1' },
      { key: 'Empty', value: '' },
    ]);
    expect(stackView('x', { StackName: 'x', CreationTime: new Date(), StackStatus: undefined as never })).toEqual({
      stackName: 'x',
      status: 'UNKNOWN',
      parameters: [],
    });
    expect(stackOutputs({ ...STACK })).toEqual([]);
  });
});

describe('stackResources', () => {
  it('lists resource types and physical ids', async () => {
    cfnMock.on(DescribeStackResourcesCommand, { StackName: 'prod-ecs' }).resolves({
      StackResources: [
        { LogicalResourceId: 'Asg', ResourceType: 'AWS::AutoScaling::AutoScalingGroup', PhysicalResourceId: 'asg-1', ResourceStatus: 'UPDATE_COMPLETE', Timestamp: new Date() },
        { LogicalResourceId: 'Pending', ResourceType: 'AWS::EC2::LaunchTemplate', ResourceStatus: 'CREATE_IN_PROGRESS', Timestamp: new Date() },
      ],
    });
    await expect(stackResources(cfn, 'prod-ecs')).resolves.toEqual([
      { type: 'AWS::AutoScaling::AutoScalingGroup', physicalId: 'asg-1' },
      { type: 'AWS::EC2::LaunchTemplate', physicalId: undefined },
    ]);
  });
});

describe('stackEventsSince', () => {
  const since = new Date('2026-01-01T10:00:00Z');
  const at = (s: number) => new Date(since.getTime() + s * 1000);
  const event = (s: number | undefined, id: string): StackEvent => ({
    StackId: 'id',
    EventId: id,
    StackName: 'prod-ecs',
    Timestamp: s === undefined ? undefined : at(s),
    LogicalResourceId: id,
    ResourceStatus: 'UPDATE_FAILED',
    ResourceStatusReason: `${id} failed`,
  });

  it('reads pages newest first and stops at the first event older than since', async () => {
    cfnMock
      .on(DescribeStackEventsCommand, { StackName: 'prod-ecs', NextToken: undefined })
      .resolves({ StackEvents: [event(30, 'c'), event(undefined, 'no-time'), event(20, 'b')], NextToken: 'p2' })
      .on(DescribeStackEventsCommand, { StackName: 'prod-ecs', NextToken: 'p2' })
      .resolves({ StackEvents: [event(0, 'a'), event(-5, 'old'), event(10, 'never-read')], NextToken: 'p3' });
    const events = await stackEventsSince(cfn, 'prod-ecs', since);
    expect(events).toEqual([
      { timestamp: at(30), logicalResourceId: 'c', resourceStatus: 'UPDATE_FAILED', resourceStatusReason: 'c failed' },
      { timestamp: at(20), logicalResourceId: 'b', resourceStatus: 'UPDATE_FAILED', resourceStatusReason: 'b failed' },
      { timestamp: at(0), logicalResourceId: 'a', resourceStatus: 'UPDATE_FAILED', resourceStatusReason: 'a failed' },
    ]);
    // it did not ask for page 3
    expect(cfnMock).toHaveReceivedCommandTimes(DescribeStackEventsCommand, 2);
  });

  it('reads to the last page when every event is recent', async () => {
    cfnMock.on(DescribeStackEventsCommand).resolves({ StackEvents: [event(1, 'x')] });
    await expect(stackEventsSince(cfn, 'prod-ecs', since)).resolves.toHaveLength(1);
    expect(cfnMock).toHaveReceivedCommandTimes(DescribeStackEventsCommand, 1);
  });
});
