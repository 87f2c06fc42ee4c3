import {
  AutoScalingClient,
  DescribeAutoScalingGroupsCommand,
  type AutoScalingGroup,
} from '@aws-sdk/client-auto-scaling';
import {
  CloudFormationClient,
  CreateStackCommand,
  DescribeStacksCommand,
  UpdateStackCommand,
  type Stack,
} from '@aws-sdk/client-cloudformation';
import {
  CreateImageCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeInstancesCommand,
  DescribeLaunchTemplateVersionsCommand,
  DescribeSecurityGroupsCommand,
  EC2Client,
  type LaunchTemplateVersion,
} from '@aws-sdk/client-ec2';
import { DescribeClustersCommand, ECSClient } from '@aws-sdk/client-ecs';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { DEFAULT_IMAGE_PARAMETER, STACK_OUTPUTS } from '../../functions/lib/contracts';
import {
  CLUSTER_CAPABILITIES,
  createClusterStack,
  describeClusterStack,
  stackOutput,
  stageParameters as harnessStageParameters,
} from '../../local/cluster-stack';
import { useMotoInThisProcess, type Moto } from '../../local/moto';
import { workerMoto } from '../support/worker-moto';

/**
 * The cluster stack created and updated in moto_server, from the shipped parameter files with the
 * placeholder network and image ids swapped for emulated ones. moto has no CloudFormation support
 * for AWS::ECS::CapacityProvider and AWS::ECS::ClusterCapacityProviderAssociations (it skips them
 * with a warning) and ignores CreationPolicy and UpdatePolicy; template.test.ts checks those
 * statically.
 */

const BASE_AMI_PARAMETER = '/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id';
const CAPABILITIES = CLUSTER_CAPABILITIES;

let moto: Moto;
let cfn: CloudFormationClient;
let ec2: EC2Client;
let autoscaling: AutoScalingClient;
let ecs: ECSClient;
let baseAmi: string;

beforeAll(async () => {
  moto = await workerMoto();
  useMotoInThisProcess(moto);
  const config = {
    endpoint: moto.env.AWS_ENDPOINT_URL,
    region: moto.env.AWS_REGION,
    credentials: { accessKeyId: moto.env.AWS_ACCESS_KEY_ID!, secretAccessKey: moto.env.AWS_SECRET_ACCESS_KEY! },
  };
  cfn = new CloudFormationClient(config);
  ec2 = new EC2Client(config);
  autoscaling = new AutoScalingClient(config);
  ecs = new ECSClient(config);
  const ssm = new SSMClient(config);
  const parameter = await ssm.send(new GetParameterCommand({ Name: BASE_AMI_PARAMETER }));
  baseAmi = parameter.Parameter?.Value ?? '';
  expect(baseAmi).toMatch(/^ami-[0-9a-f]+$/);
}, 60_000);

afterAll(async () => {
  await moto?.stop();
});

const stageParameters = (stage: string, imageId: string) => harnessStageParameters(moto.region, stage, imageId);
const describeStack = (stackName: string) => describeClusterStack(moto.region, stackName);
const createStack = (stackName: string, parameters: Record<string, string>) => createClusterStack(moto.region, stackName, parameters);
const output = stackOutput;

async function launchTemplateVersions(launchTemplateId: string): Promise<LaunchTemplateVersion[]> {
  const out = await ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: launchTemplateId }));
  return [...(out.LaunchTemplateVersions ?? [])].sort((a, b) => (a.VersionNumber ?? 0) - (b.VersionNumber ?? 0));
}

async function group(name: string): Promise<AutoScalingGroup> {
  const out = await autoscaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [name] }));
  expect(out.AutoScalingGroups).toHaveLength(1);
  return out.AutoScalingGroups![0]!;
}

async function instanceImages(instanceIds: string[]): Promise<Map<string, { imageId?: string; subnetId?: string }>> {
  const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: instanceIds }));
  const result = new Map<string, { imageId?: string; subnetId?: string }>();
  for (const reservation of out.Reservations ?? []) {
    for (const instance of reservation.Instances ?? []) {
      result.set(instance.InstanceId!, { imageId: instance.ImageId, subnetId: instance.SubnetId });
    }
  }
  return result;
}

describe.each(['dev', 'prod'])('the cluster stack created from cluster/params/%s.cfg', (stage) => {
  it('creates the cluster, a hardened launch template and a group running the desired instances on the image', async () => {
    const parameters = await stageParameters(stage, baseAmi);
    const stackName = `ecs-${stage}-create`;
    const stack = await createStack(stackName, parameters);

    expect(stack.StackStatus).toBe('CREATE_COMPLETE');
    expect(output(stack, STACK_OUTPUTS.imageParameterName)).toBe(DEFAULT_IMAGE_PARAMETER);
    const clusterName = output(stack, STACK_OUTPUTS.clusterName);
    expect(clusterName).toBe(stackName);

    const clusters = await ecs.send(new DescribeClustersCommand({ clusters: [clusterName] }));
    expect(clusters.clusters?.map((c) => [c.clusterName, c.status])).toEqual([[clusterName, 'ACTIVE']]);

    const [version, ...later] = await launchTemplateVersions(output(stack, 'LaunchTemplateId'));
    expect(later).toEqual([]);
    const data = version!.LaunchTemplateData!;
    expect(data.ImageId).toBe(baseAmi);
    expect(data.InstanceType).toBe(parameters.InstanceType);
    expect(data.MetadataOptions?.HttpTokens).toBe('required');
    expect(data.MetadataOptions?.HttpPutResponseHopLimit).toBe(1);
    expect(data.KeyName).toBeUndefined();
    expect(data.BlockDeviceMappings?.length).toBeGreaterThan(0);
    for (const mapping of data.BlockDeviceMappings ?? []) {
      expect(mapping.Ebs?.Encrypted).toBe(true);
    }
    const userData = Buffer.from(data.UserData ?? '', 'base64').toString('utf8');
    expect(userData).toContain(`--stack ${stackName} --resource LaunchTemplate`);
    expect(userData).toMatch(/cfn-signal -e \$\? --stack \S+ --resource AutoScalingGroup/);

    // Egress is checked statically: moto drops a template's SecurityGroupEgress and keeps the
    // default allow-all rule.
    const [securityGroupId, ...extraGroups] = data.SecurityGroupIds ?? [];
    expect(extraGroups).toEqual([]);
    expect(securityGroupId).toBe(output(stack, 'InstanceSecurityGroupId'));
    const groups = await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [securityGroupId!] }));
    const securityGroup = groups.SecurityGroups![0]!;
    expect(securityGroup.VpcId).toBe(parameters.VpcId);
    expect(securityGroup.IpPermissions ?? []).toEqual([]);

    const asgName = output(stack, STACK_OUTPUTS.autoScalingGroupName);
    expect(asgName).toBe(`${stackName}-instances`);
    const asg = await group(asgName);
    const desired = Number(parameters.ApplicationDesiredCount);
    expect(desired).toBeGreaterThan(0);
    expect(asg.DesiredCapacity).toBe(desired);
    expect(asg.MinSize).toBe(Number(parameters.ApplicationMinSize));
    expect(asg.MaxSize).toBe(Number(parameters.ApplicationMaxSize));
    expect(asg.LaunchConfigurationName).toBeUndefined();
    expect(asg.LaunchTemplate?.Version).toBe(String(version!.VersionNumber));
    expect(asg.Instances).toHaveLength(desired);

    const instances = await instanceImages(asg.Instances!.map((i) => i.InstanceId!));
    expect(instances.size).toBe(desired);
    const subnets = (parameters.ApplicationSubnets ?? '').split(',');
    for (const { imageId, subnetId } of instances.values()) {
      expect(imageId).toBe(baseAmi);
      expect(subnets).toContain(subnetId);
    }
  });

  it('rolls onto a new image when only the image parameter changes, keeping every other value', async () => {
    const parameters = await stageParameters(stage, baseAmi);
    const stackName = `ecs-${stage}-update`;
    const created = await createStack(stackName, parameters);
    const asgName = output(created, STACK_OUTPUTS.autoScalingGroupName);
    const launchTemplateId = output(created, 'LaunchTemplateId');

    // Stands in for the bake: an image made from one of the running container instances.
    const before = await group(asgName);
    const baked = await ec2.send(
      new CreateImageCommand({ InstanceId: before.Instances![0]!.InstanceId!, Name: `${stackName}-baked` }),
    );
    const newAmi = baked.ImageId!;
    expect(newAmi).not.toBe(baseAmi);

    // What the pipeline sends: the previous template, the new image, UsePreviousValue for the rest.
    await cfn.send(
      new UpdateStackCommand({
        StackName: stackName,
        UsePreviousTemplate: true,
        Parameters: (created.Parameters ?? []).map(({ ParameterKey }) =>
          ParameterKey === DEFAULT_IMAGE_PARAMETER
            ? { ParameterKey, ParameterValue: newAmi }
            : { ParameterKey, UsePreviousValue: true },
        ),
        Capabilities: [...CAPABILITIES],
      }),
    );
    const updated = await describeStack(stackName);
    expect(updated.StackStatus).toBe('UPDATE_COMPLETE');

    const previous = new Map((created.Parameters ?? []).map((p) => [p.ParameterKey, p.ParameterValue]));
    for (const { ParameterKey, ParameterValue } of updated.Parameters ?? []) {
      expect([ParameterKey, ParameterValue]).toEqual([
        ParameterKey,
        ParameterKey === DEFAULT_IMAGE_PARAMETER ? newAmi : previous.get(ParameterKey),
      ]);
    }

    const versions = await launchTemplateVersions(launchTemplateId);
    expect(versions.map((v) => [v.VersionNumber, v.LaunchTemplateData?.ImageId])).toEqual([
      [1, baseAmi],
      [2, newAmi],
    ]);
    const [first, second] = versions.map((v) => v.LaunchTemplateData!);
    expect(second!.MetadataOptions).toEqual(first!.MetadataOptions);
    expect(second!.BlockDeviceMappings).toEqual(first!.BlockDeviceMappings);
    expect(second!.InstanceType).toBe(first!.InstanceType);
    expect(second!.UserData).toBe(first!.UserData);

    // In AWS the group's Version (GetAtt LatestVersionNumber) changes with the new version, and
    // that change starts the rolling update. moto neither re-resolves it on update nor replaces
    // instances, so the group keeps its size and version 1 here; template.test.ts pins the
    // GetAtt statically.
    const after = await group(asgName);
    expect(after.LaunchTemplate?.LaunchTemplateId).toBe(launchTemplateId);
    expect(after.DesiredCapacity).toBe(Number(parameters.ApplicationDesiredCount));
    expect(after.Instances).toHaveLength(Number(parameters.ApplicationDesiredCount));
  });
});
