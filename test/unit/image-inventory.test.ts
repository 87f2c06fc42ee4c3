/**
 * What a configured stack keeps in use, whichever way its groups launch: a launch template, a mixed
 * instances policy and its per-type overrides, a (deprecated) launch configuration, an image
 * resolved from SSM at launch. A stack that does not exist uses nothing and says so.
 */
import { AutoScalingClient, DescribeAutoScalingGroupsCommand, DescribeLaunchConfigurationsCommand } from '@aws-sdk/client-auto-scaling';
import { CloudFormationClient, DescribeStackResourcesCommand, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeLaunchTemplateVersionsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { stackUses, withArchitectureSiblings } from '../../functions/lib/aws/image-inventory';

const cfnMock = mockClient(CloudFormationClient);
const asgMock = mockClient(AutoScalingClient);
const ec2Mock = mockClient(EC2Client);
const ssmMock = mockClient(SSMClient);
const clients = {
  cfn: new CloudFormationClient({ region: 'eu-west-1' }),
  autoscaling: new AutoScalingClient({ region: 'eu-west-1' }),
  ec2: new EC2Client({ region: 'eu-west-1' }),
  ssm: new SSMClient({ region: 'eu-west-1' }),
};
const TARGET = { stackName: 'ecs-prod', clusterName: 'ecs-prod', imageParameter: 'ApplicationImageId' };
const PARAM_AMI = 'ami-0000000000000000a';
const LT_AMI = 'ami-0000000000000000b';
const OVERRIDE_AMI = 'ami-0000000000000000c';
const LC_AMI = 'ami-0000000000000000d';
const SSM_AMI = 'ami-0000000000000000e';

beforeEach(() => {
  for (const m of [cfnMock, asgMock, ec2Mock, ssmMock]) m.reset();
  cfnMock.on(DescribeStacksCommand).resolves({
    Stacks: [{ StackName: 'ecs-prod', StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date(), Parameters: [{ ParameterKey: 'ApplicationImageId', ParameterValue: PARAM_AMI }] }],
  });
  cfnMock.on(DescribeStackResourcesCommand).resolves({
    StackResources: [
      { ResourceType: 'AWS::AutoScaling::AutoScalingGroup', PhysicalResourceId: 'prod-mixed', LogicalResourceId: 'A', ResourceStatus: 'CREATE_COMPLETE', Timestamp: new Date() },
      { ResourceType: 'AWS::AutoScaling::AutoScalingGroup', PhysicalResourceId: 'prod-legacy', LogicalResourceId: 'B', ResourceStatus: 'CREATE_COMPLETE', Timestamp: new Date() },
      { ResourceType: 'AWS::EC2::LaunchTemplate', PhysicalResourceId: 'lt-0main', LogicalResourceId: 'C', ResourceStatus: 'CREATE_COMPLETE', Timestamp: new Date() },
    ],
  });
  asgMock.on(DescribeAutoScalingGroupsCommand).resolves({
    AutoScalingGroups: [
      {
        AutoScalingGroupName: 'prod-mixed',
        MixedInstancesPolicy: {
          LaunchTemplate: {
            LaunchTemplateSpecification: { LaunchTemplateId: 'lt-0main', Version: '7' },
            Overrides: [{ InstanceType: 'm7g.large', LaunchTemplateSpecification: { LaunchTemplateName: 'arm-override', Version: '$Latest' } }],
          },
        },
        MinSize: 0, MaxSize: 4, DesiredCapacity: 0, DefaultCooldown: 300, AvailabilityZones: [], HealthCheckType: 'EC2', CreatedTime: new Date(),
      },
      { AutoScalingGroupName: 'prod-legacy', LaunchConfigurationName: 'prod-legacy-lc', MinSize: 0, MaxSize: 1, DesiredCapacity: 0, DefaultCooldown: 300, AvailabilityZones: [], HealthCheckType: 'EC2', CreatedTime: new Date() },
    ],
  });
  ec2Mock.on(DescribeLaunchTemplateVersionsCommand, { LaunchTemplateId: 'lt-0main', Versions: ['7'] }).resolves({
    LaunchTemplateVersions: [{ LaunchTemplateId: 'lt-0main', LaunchTemplateName: 'main', VersionNumber: 7, LaunchTemplateData: { ImageId: LT_AMI } }],
  });
  ec2Mock.on(DescribeLaunchTemplateVersionsCommand, { LaunchTemplateName: 'arm-override', Versions: ['$Latest'] }).resolves({
    LaunchTemplateVersions: [{ LaunchTemplateName: 'arm-override', VersionNumber: 3, LaunchTemplateData: { ImageId: 'resolve:ssm:/golden/arm64' } }],
  });
  ssmMock.on(GetParameterCommand, { Name: '/golden/arm64' }).resolves({ Parameter: { Name: '/golden/arm64', Value: SSM_AMI } });
  asgMock.on(DescribeLaunchConfigurationsCommand, { LaunchConfigurationNames: ['prod-legacy-lc'] }).resolves({
    LaunchConfigurations: [{ LaunchConfigurationName: 'prod-legacy-lc', ImageId: LC_AMI, InstanceType: 't3.small', CreatedTime: new Date() }],
  });
});

it('finds the image parameter, every launch template a group may use, and a launch configuration', async () => {
  const { uses, notes } = await stackUses(clients, [TARGET]);
  expect(notes).toEqual([]);
  expect(uses).toEqual([
    { imageId: PARAM_AMI, kind: 'stack-parameter', detail: 'stack ecs-prod (ApplicationImageId)' },
    { imageId: LT_AMI, kind: 'launch-template', detail: 'launch template main version 7 of group prod-mixed (stack ecs-prod)' },
    { imageId: SSM_AMI, kind: 'launch-template', detail: 'launch template arm-override version 3 of group prod-mixed (stack ecs-prod)' },
    { imageId: LC_AMI, kind: 'launch-template', detail: 'launch configuration prod-legacy-lc of group prod-legacy (stack ecs-prod)' },
  ]);
  // The override's image: read from SSM, as EC2 resolves it at launch.
  expect(uses.some((u) => u.imageId === OVERRIDE_AMI)).toBe(false);
});

it('says a configured stack that does not exist uses nothing, and fails on any other error', async () => {
  cfnMock.on(DescribeStacksCommand).rejects(Object.assign(new Error('Stack with id ecs-prod does not exist'), { name: 'ValidationError' }));
  await expect(stackUses(clients, [TARGET])).resolves.toEqual({ uses: [], notes: ['configured stack ecs-prod does not exist; it uses no image'] });
  cfnMock.on(DescribeStacksCommand).rejects(Object.assign(new Error('User is not authorized'), { name: 'AccessDenied' }));
  await expect(stackUses(clients, [TARGET])).rejects.toThrow('not authorized');
});

describe('withArchitectureSiblings', () => {
  it('puts after each promoted image the images its run baked for the other architectures', () => {
    const img = (imageId: string, architecture: string, buildId: string) => ({ imageId, architecture, buildId, createdAt: new Date(0), state: 'available', snapshotIds: [], sizeGiB: 0, deprecated: false, versionsRecorded: true });
    const images = [img('ami-x2', 'x86_64', 'run-2'), img('ami-a2', 'arm64', 'run-2'), img('ami-x1', 'x86_64', 'run-1'), img('ami-a1', 'arm64', 'run-1'), img('ami-a0', 'arm64', 'run-0')];
    expect(withArchitectureSiblings(['ami-x2', 'ami-x1'], images)).toEqual(['ami-x2', 'ami-a2', 'ami-x1', 'ami-a1']);
    expect(withArchitectureSiblings(['ami-unknown'], images)).toEqual(['ami-unknown']);
  });
});
