/**
 * What AWS services do with the pipeline's roles and credentials, as call lists written from AWS's
 * documentation (each list and call cites its source), to be evaluated like the functions' recorded
 * calls (evaluate.ts) against the roles `osls package` generates:
 *
 * - Step Functions, with the state machine role: invoking the functions the definition names,
 *   `codebuild:startBuild.sync` with its managed EventBridge rule, the Distributed Map's child
 *   executions, X-Ray traces and the vended-log delivery;
 * - EventBridge Scheduler, with the scheduler role: starting the weekly run;
 * - CodeBuild and Packer's amazon-ebs builder, with the bake project's role: the build's source and
 *   logs (and network interface in a VPC), then every EC2 (and KMS, through EBS) call Packer makes
 *   with the options packer/ecs-ami.pkr.hcl sets, step by step;
 * - CloudFormation, with the update-stack function's credentials when no stack service role is
 *   configured: rolling a launch-template Auto Scaling group shaped like cluster/ecs-cluster.yml onto
 *   a new image;
 * - Lambda, with each function's role: writing the function's logs.
 *
 * These lists are what the documentation and Packer's source say; what AWS really calls is only
 * proven on AWS (README, "What is proven locally"). `packerOptionsInUse` reads the options the
 * Packer list depends on, so a template change that changes the call set fails a test first.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { AMI_TAGS, BUILD_PROJECT_ENV, LAMBDA_ENV, MANAGED_BY_VALUE } from '../../functions/lib/contracts';
import { loadCfnYaml, type CfnTemplate } from '../cfn-yaml';
import type { EvaluableCall } from './evaluate';
import { autoScalingGroupArn, type AwsEnvironment, type ContextValue } from './resources';
import type { PackagedIam, Template } from './roles';

const ROOT = path.resolve(__dirname, '..', '..');

export interface OnBehalfList {
  /** Whose permissions AWS uses: a role's logical id (StateMachineRole) or a function key (updateStack). */
  actor: string;
  /** Which service acts, and when. */
  title: string;
  /** The AWS (or Packer) documentation the list is written from. */
  docs: string[];
  calls: EvaluableCall[];
}

export interface OnBehalf {
  lists: OnBehalfList[];
  /** Tags and attributes of the resources the lists touch (ManagedBy on what Packer made, the stacks' tags). */
  environment: Pick<AwsEnvironment, 'resourceTags' | 'resourceContext' | 'instanceProfileRoles'>;
}

// ---------------------------------------------------------------------------------------------
// Documentation

export const DOCS = {
  sfnLambda: 'https://docs.aws.amazon.com/step-functions/latest/dg/lambda-iam.html',
  sfnCodeBuild: 'https://docs.aws.amazon.com/step-functions/latest/dg/codebuild-iam.html',
  sfnDistributedMap: 'https://docs.aws.amazon.com/step-functions/latest/dg/iam-policies-eg-dist-map.html',
  sfnXray: 'https://docs.aws.amazon.com/step-functions/latest/dg/xray-iam.html',
  sfnLogs: 'https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html#cloudwatch-iam-policy',
  schedulerRole: 'https://docs.aws.amazon.com/scheduler/latest/UserGuide/setting-up.html#setting-up-execution-role',
  codeBuildServiceRole: 'https://docs.aws.amazon.com/codebuild/latest/userguide/setting-up-service-role.html',
  codeBuildVpc:
    'https://docs.aws.amazon.com/codebuild/latest/userguide/auth-and-access-control-iam-identity-based-access-control.html#customer-managed-policies-example-create-vpc-network-interface',
  packerMinimalPolicy: 'https://developer.hashicorp.com/packer/integrations/hashicorp/amazon#iam-task-or-instance-role',
  packerEbsSteps: 'https://github.com/hashicorp/packer-plugin-amazon/blob/main/builder/ebs/builder.go (the builder’s step list; each step under builder/common/step_*.go)',
  ebsEncryption: 'https://docs.aws.amazon.com/ebs/latest/userguide/ebs-encryption-requirements.html',
  tagOnCreate: 'https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/supported-iam-actions-tagging.html',
  cfnCallerCredentials: 'https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-iam-servicerole.html',
  cfnParameterTypes: 'https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-supplied-parameter-types.html',
  cfnRollingUpdate: 'https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-updatepolicy.html',
  cfnLaunchTemplate: 'https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-ec2-launchtemplate.html',
  asgApiPermissions: 'https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-api-permissions.html',
  asgLaunchTemplatePermissions: 'https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-launch-template-permissions.html',
  passRoleEc2: 'https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_switch-role-ec2.html',
  lambdaLogs: 'https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html',
};

// ---------------------------------------------------------------------------------------------
// The Packer template's options the Packer list depends on

export interface PackerOptions {
  /** run_tags, literal values only (interpolations kept as written). */
  runTags: Record<string, string>;
  /** Options set (a line `name = ...` or a block `name {`) in the amazon-ebs source. */
  set: Set<string>;
  launchBlockDevices: number;
  /** `data "<type>"` blocks in packer/*.pkr.hcl: a data source calls AWS with the role too (amazon-parameterstore: SSM). */
  dataSources: string[];
}

/** Reads packer/ecs-ami.pkr.hcl's amazon-ebs source: which options it sets, its run_tags, its volumes. */
export function packerOptionsInUse(file = path.join(ROOT, 'packer', 'ecs-ami.pkr.hcl')): PackerOptions {
  const text = readFileSync(file, 'utf8');
  const start = text.indexOf('source "amazon-ebs"');
  if (start < 0) throw new Error(`${file}: no amazon-ebs source`);
  const source = text.slice(start, text.indexOf('\nbuild {', start) > 0 ? text.indexOf('\nbuild {', start) : undefined);
  const set = new Set<string>();
  for (const m of source.matchAll(/^ {2}([a-z_]+)\s*(=|\{)/gm)) set.add(m[1]!);
  for (const m of source.matchAll(/^ {2}dynamic "([a-z_]+)"/gm)) set.add(m[1]!);
  const runTagsBlock = /^ {2}run_tags\s*=\s*\{([^}]*)\}/m.exec(source)?.[1] ?? '';
  const runTags: Record<string, string> = {};
  for (const m of runTagsBlock.matchAll(/^\s*([A-Za-z0-9_]+)\s*=\s*(.+?)\s*$/gm)) runTags[m[1]!] = m[2]!.replace(/^"(.*)"$/, '$1');
  const dir = path.dirname(file);
  const dataSources = readdirSync(dir)
    .filter((f) => f.endsWith('.pkr.hcl'))
    .flatMap((f) => [...readFileSync(path.join(dir, f), 'utf8').matchAll(/^data\s+"([^"]+)"/gm)].map((m) => m[1]!));
  return { runTags, set, launchBlockDevices: [...source.matchAll(/^ {2}launch_block_device_mappings\s*\{/gm)].length, dataSources };
}

/**
 * The options this list was written for: set ones change the calls (encrypted volumes, tags,
 * IMDS, description), and the absent ones would add calls (ami_regions: CopyImage; ami_users:
 * ModifyImageAttribute/ModifySnapshotAttribute launch permissions; run_volume_tags: tagged volumes;
 * spot_price: CreateFleet and a launch template; iam_instance_profile as a literal: PassRole;
 * ena_support/sriov_support: ModifyInstanceAttribute; encrypt_boot: CopyImage; force_deregister:
 * DeregisterImage of an old image; ssh_keypair_name / ssh_private_key_file: no temporary key pair).
 */
export const PACKER_OPTIONS_ASSUMED = {
  set: [
    'region',
    'source_ami',
    'instance_type',
    'subnet_id',
    'vpc_id',
    'shutdown_behavior',
    'temporary_security_group_source_public_ip',
    'temporary_security_group_source_cidrs',
    'metadata_options',
    'imds_support',
    'ami_name',
    'ami_description',
    'launch_block_device_mappings',
    'tags',
    'snapshot_tags',
    'run_tags',
  ],
  absent: [
    'ami_regions',
    'ami_users',
    'ami_groups',
    'ami_org_arns',
    'ami_ou_arns',
    'snapshot_users',
    'snapshot_groups',
    'run_volume_tags',
    'spot_price',
    'spot_instance_types',
    'ena_support',
    'sriov_support',
    'encrypt_boot',
    'force_deregister',
    'force_delete_snapshot',
    'ssh_keypair_name',
    'ssh_private_key_file',
    'security_group_id',
    'security_group_ids',
    'deprecate_at',
    'skip_region_validation',
    'ami_block_device_mappings',
  ],
  launchBlockDevices: 2,
};

// ---------------------------------------------------------------------------------------------
// Facts of the packaged stage

type Resolve = (v: unknown) => unknown;

interface StageFacts {
  name: string;
  account: string;
  region: string;
  partition: string;
  stateMachineArn: string;
  functionArnsInDefinition: Record<string, string>;
  bakeProjectName: string;
  bakeEnv: Record<string, string>;
  assets: { bucket: string; key: string };
  bakeLogGroup: string;
  functionLogGroups: Record<string, string>;
  /** The waves' cluster stacks, each in its region (the stage's unless the target names another). */
  stacks: { stackName: string; region: string }[];
}

function stageFacts(template: Template, iam: PackagedIam): StageFacts {
  const r: Resolve = iam.resolve;
  const res = (id: string) => {
    const x = template.Resources[id];
    if (!x) throw new Error(`packaged template has no ${id}`);
    return x;
  };
  const machine = res('PipelineStateMachine').Properties;
  const substitutions = r(machine.DefinitionSubstitutions) as Record<string, string>;
  const functionArnsInDefinition = Object.fromEntries(Object.entries(substitutions).filter(([k]) => k.endsWith('FunctionArn')));
  const bake = res('BakeProject').Properties;
  const bakeEnv = Object.fromEntries((r(bake.Environment.EnvironmentVariables) as { Name: string; Value: string }[]).map((v) => [v.Name, String(v.Value)]));
  const location = String(r(bake.Source.Location));
  const slash = location.indexOf('/');
  const functionLogGroups: Record<string, string> = {};
  for (const [key, fnArn] of Object.entries(iam.functionArns)) functionLogGroups[key] = `/aws/lambda/${fnArn.split(':function:')[1]}`;
  const waves = JSON.parse(String(r(res('CheckRequestLambdaFunction').Properties.Environment.Variables[LAMBDA_ENV.clusterWaves]))) as {
    clusters: { stackName: string; region?: string }[];
  }[];
  return {
    name: iam.stackName,
    account: iam.account,
    region: iam.region,
    partition: iam.partition,
    stateMachineArn: String(r({ Ref: 'PipelineStateMachine' })),
    functionArnsInDefinition,
    bakeProjectName: String(substitutions.BakeProjectName),
    bakeEnv,
    assets: { bucket: location.slice(0, slash), key: location.slice(slash + 1) },
    bakeLogGroup: String(r(res('BakeLogGroup').Properties.LogGroupName)),
    functionLogGroups,
    stacks: waves.flatMap((w) => w.clusters.map((c) => ({ stackName: c.stackName, region: c.region ?? iam.region }))),
  };
}

// ---------------------------------------------------------------------------------------------
// The lists

function stepFunctions(f: StageFacts): OnBehalfList {
  const actor = 'StateMachineRole';
  const c = (action: string, input: Record<string, unknown>, because: string): EvaluableCall => ({ actor, action, input, region: f.region, via: 'states.amazonaws.com', because });
  const machineName = f.stateMachineArn.split(':stateMachine:')[1]!;
  // A Distributed Map child execution: execution:<machine>/<map run label>:<id> (the Map state's Label is "cluster").
  const child = `arn:${f.partition}:states:${f.region}:${f.account}:execution:${machineName}/cluster:0f0e0d0c-0b0a-4908-8706-050403020100`;
  const buildId = `${f.bakeProjectName}:0f0e0d0c-0b0a-4908-8706-050403020100`;
  const rule = 'StepFunctionsGetEventsForCodeBuildStartBuildRule';
  return {
    actor,
    title: 'Step Functions runs the pipeline with the state machine role',
    docs: [DOCS.sfnLambda, DOCS.sfnCodeBuild, DOCS.sfnDistributedMap, DOCS.sfnXray, DOCS.sfnLogs],
    calls: [
      // Every function the definition names (DefinitionSubstitutions), by its unqualified ARN.
      ...Object.entries(f.functionArnsInDefinition).map(([name, arn]) =>
        c('lambda:Invoke', { FunctionName: arn }, `a Task state invokes \${${name}} (${DOCS.sfnLambda})`),
      ),
      // codebuild:startBuild.sync: start, poll and (on stop or timeout) stop the build, and the
      // EventBridge rule Step Functions manages to learn that the build ended.
      c('codebuild:StartBuild', { projectName: f.bakeProjectName }, `startBuild.sync starts the build (${DOCS.sfnCodeBuild})`),
      c('codebuild:BatchGetBuilds', { ids: [buildId] }, `startBuild.sync reads the build (${DOCS.sfnCodeBuild})`),
      c('codebuild:StopBuild', { id: buildId }, `startBuild.sync stops the build when the run stops or times out (${DOCS.sfnCodeBuild})`),
      c(
        'events:PutRule',
        { Name: rule, EventPattern: JSON.stringify({ source: ['aws.codebuild'], 'detail-type': ['CodeBuild Build State Change'] }) },
        `the managed rule that reports the build's end (${DOCS.sfnCodeBuild})`,
      ),
      c('events:PutTargets', { Rule: rule }, `targets of the managed rule (${DOCS.sfnCodeBuild})`),
      c('events:DescribeRule', { Name: rule }, `the managed rule (${DOCS.sfnCodeBuild})`),
      // Distributed Map: each cluster is a child execution of this state machine.
      c('states:StartExecution', { stateMachineArn: f.stateMachineArn, name: 'child' }, `a Distributed Map starts its child executions (${DOCS.sfnDistributedMap})`),
      c('states:DescribeExecution', { executionArn: child }, `... follows them (${DOCS.sfnDistributedMap})`),
      c('states:StopExecution', { executionArn: child }, `... and stops them when the map run fails or is stopped (${DOCS.sfnDistributedMap})`),
      // TracingConfiguration.Enabled.
      ...['xray:PutTraceSegments', 'xray:PutTelemetryRecords', 'xray:GetSamplingRules', 'xray:GetSamplingTargets'].map((a) =>
        c(a, {}, `X-Ray tracing of the runs (${DOCS.sfnXray})`),
      ),
      // LoggingConfiguration to a CloudWatch Logs group: the documented set the role must hold; which
      // of these Step Functions calls at creation, update or removal of the logging is not documented.
      ...[
        'logs:CreateLogDelivery',
        'logs:GetLogDelivery',
        'logs:UpdateLogDelivery',
        'logs:DeleteLogDelivery',
        'logs:ListLogDeliveries',
        'logs:PutResourcePolicy',
        'logs:DescribeResourcePolicies',
        'logs:DescribeLogGroups',
      ].map((a) => c(a, {}, `the vended-log delivery of the execution logs (${DOCS.sfnLogs})`)),
    ],
  };
}

function scheduler(f: StageFacts): OnBehalfList {
  return {
    actor: 'SchedulerRole',
    title: 'EventBridge Scheduler starts the weekly run with the scheduler role',
    docs: [DOCS.schedulerRole],
    calls: [
      {
        actor: 'SchedulerRole',
        action: 'states:StartExecution',
        input: { stateMachineArn: f.stateMachineArn, input: '{"trigger":"weekly"}' },
        region: f.region,
        via: 'scheduler.amazonaws.com',
        because: `the schedule's target is the state machine (${DOCS.schedulerRole})`,
      },
    ],
  };
}

function lambdaLogs(f: StageFacts): OnBehalfList[] {
  return Object.entries(f.functionLogGroups).map(([key, group]) => ({
    actor: key,
    title: `Lambda writes ${key}'s logs with its role`,
    docs: [DOCS.lambdaLogs],
    calls: ['logs:CreateLogStream', 'logs:PutLogEvents'].map((action) => ({
      actor: key,
      action,
      input: { logGroupName: group, logStreamName: '2026/11/28/[$LATEST]0f0e0d0c0b0a09080706050403020100' },
      region: f.region,
      via: 'lambda.amazonaws.com',
      because: `the Lambda service writes the function's logs (${DOCS.lambdaLogs}); the log group exists (Serverless creates it)`,
    })),
  }));
}

/** Ids of what Packer makes during one bake (the ManagedBy tag comes from run_tags / CreateImage). */
const PACKER = {
  keyPair: 'packer_6a3c9f0e-1b2d-4c5e-8f70-9a1b2c3d4e5f',
  securityGroupName: 'packer_6a3c9f0e-1b2d-4c5e-8f70-9a1b2c3d4e60',
  securityGroup: 'sg-0packer000000000a',
  instance: 'i-0packer00000000a0',
  image: 'ami-0baked00000000a0',
  snapshots: ['snap-0baked0000000a01', 'snap-0baked0000000a02'],
  sourceAmi: 'ami-0ecsbase0000000a0',
  defaultSubnet: 'subnet-0default0000000a',
  codeBuildInterface: 'eni-0codebuild00000a0',
  buildSecurityGroup: 'sg-0codebuild00000a0',
};

function codeBuildAndPacker(f: StageFacts, options: PackerOptions): OnBehalfList {
  const actor = 'BakeProjectRole';
  const env = f.bakeEnv;
  const vpc = env[BUILD_PROJECT_ENV.vpcId] || undefined;
  const subnet = env[BUILD_PROJECT_ENV.subnetId] || undefined;
  const kmsKey = env[BUILD_PROJECT_ENV.kmsKeyId] || undefined;
  const packer = (action: string, input: Record<string, unknown>, why: string): EvaluableCall => ({
    actor,
    action,
    input,
    region: f.region,
    because: `Packer amazon-ebs: ${why} (${DOCS.packerEbsSteps}; minimal policy ${DOCS.packerMinimalPolicy})`,
  });
  const codebuild = (action: string, input: Record<string, unknown>, why: string, doc = DOCS.codeBuildServiceRole): EvaluableCall => ({
    actor,
    action,
    input,
    region: f.region,
    via: 'codebuild.amazonaws.com',
    because: `CodeBuild: ${why} (${doc})`,
  });
  const runTags = Object.entries(options.runTags).map(([Key, Value]) => ({ Key, Value: Value.startsWith('var.') ? 'base-ami-0ecsbase0000000a0-a1-20261128T0400' : Value }));
  const runTagSpec = (type: string) => ({ ResourceType: type, Tags: runTags });
  const imageTags = [
    { Key: AMI_TAGS.managedBy, Value: MANAGED_BY_VALUE },
    { Key: 'Name', Value: `${env[BUILD_PROJECT_ENV.amiNamePrefix]}-20261128040000` },
  ];
  const volume = (device: string, size: number) => ({
    DeviceName: device,
    Ebs: { VolumeSize: size, VolumeType: 'gp3', Encrypted: true, DeleteOnTermination: true, ...(kmsKey ? { KmsKeyId: kmsKey } : {}) },
  });
  const calls: EvaluableCall[] = [
    // The build itself: its source zip (S3) and its log stream.
    codebuild('s3:GetObject', { Bucket: f.assets.bucket, Key: f.assets.key }, 'downloads the S3 source (the Packer assets zip)'),
    codebuild('s3:GetBucketAcl', { Bucket: f.assets.bucket }, 'the S3 source bucket (the service role policy grants GetBucketAcl and GetBucketLocation on it)'),
    codebuild('s3:GetBucketLocation', { Bucket: f.assets.bucket }, 'the S3 source bucket'),
    codebuild('logs:CreateLogStream', { logGroupName: f.bakeLogGroup, logStreamName: '0f0e0d0c-0b0a-4908-8706-050403020100' }, "the build's log stream"),
    codebuild('logs:PutLogEvents', { logGroupName: f.bakeLogGroup, logStreamName: '0f0e0d0c-0b0a-4908-8706-050403020100' }, 'the build log'),
  ];
  if (vpc && subnet) {
    calls.push(
      codebuild('ec2:CreateNetworkInterface', { SubnetId: subnet, Groups: [PACKER.buildSecurityGroup] }, 'joins the build subnet with its own network interface', DOCS.codeBuildVpc),
      ...['ec2:DescribeDhcpOptions', 'ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets', 'ec2:DescribeSecurityGroups', 'ec2:DescribeVpcs'].map((a) =>
        codebuild(a, {}, 'reads the build network', DOCS.codeBuildVpc),
      ),
      codebuild(
        'ec2:CreateNetworkInterfacePermission',
        { NetworkInterfaceId: PACKER.codeBuildInterface, Permission: 'INSTANCE-ATTACH', AwsService: 'codebuild.amazonaws.com' },
        'attaches its interface in the build subnet',
        DOCS.codeBuildVpc,
      ),
      codebuild('ec2:DeleteNetworkInterface', { NetworkInterfaceId: PACKER.codeBuildInterface }, 'removes its interface after the build', DOCS.codeBuildVpc),
      // buildspec/packer-vars.sh: SSH is opened to the VPC's CIDRs for a private build.
      { actor, action: 'ec2:DescribeVpcs', input: { VpcIds: [vpc] }, region: f.region, because: 'buildspec/packer-vars.sh reads the VPC’s CIDR blocks' },
    );
  }
  calls.push(
    // StepPreValidate: the region, and that the AMI name is free.
    packer('ec2:DescribeRegions', {}, 'StepPreValidate validates the region (skip_region_validation is not set)'),
    packer('ec2:DescribeImages', { Owners: ['self'], Filters: [{ Name: 'name', Values: ['…'] }] }, 'StepPreValidate: the AMI name is not taken'),
    // StepSourceAMIInfo: the base the pipeline passes as source_ami.
    packer('ec2:DescribeImages', { ImageIds: [PACKER.sourceAmi] }, 'StepSourceAMIInfo reads source_ami'),
    // StepNetworkInfo: the subnet's zone (only when subnet_id is set).
    ...(subnet ? [packer('ec2:DescribeSubnets', { SubnetIds: [subnet] }, 'StepNetworkInfo reads the zone of subnet_id')] : []),
    // StepKeyPair / StepSecurityGroup: temporary, tagged with run_tags at creation.
    packer('ec2:CreateKeyPair', { KeyName: PACKER.keyPair, TagSpecifications: [runTagSpec('key-pair')] }, 'StepKeyPair creates the temporary key pair with run_tags'),
    packer(
      'ec2:CreateSecurityGroup',
      { GroupName: PACKER.securityGroupName, Description: 'Temporary group for Packer', ...(vpc ? { VpcId: vpc } : {}), TagSpecifications: [runTagSpec('security-group')] },
      'StepSecurityGroup creates the temporary group with run_tags',
    ),
    packer('ec2:AuthorizeSecurityGroupIngress', { GroupId: PACKER.securityGroup, IpPermissions: [{ FromPort: 22, ToPort: 22, IpProtocol: 'tcp' }] }, 'StepSecurityGroup opens SSH to the builder only'),
    packer('ec2:DescribeSecurityGroups', { GroupIds: [PACKER.securityGroup] }, 'StepSecurityGroup waits for the group'),
    // StepRunSourceInstance: the build instance, run_tags on it; both volumes encrypted (kms_key_id
    // in the configured stage); IMDSv2 only; no instance profile, no run_volume_tags.
    packer(
      'ec2:RunInstances',
      {
        ImageId: PACKER.sourceAmi,
        InstanceType: env[BUILD_PROJECT_ENV.instanceType],
        MinCount: 1,
        MaxCount: 1,
        KeyName: PACKER.keyPair,
        SecurityGroupIds: [PACKER.securityGroup],
        SubnetId: subnet ?? PACKER.defaultSubnet,
        InstanceInitiatedShutdownBehavior: 'terminate',
        MetadataOptions: { HttpEndpoint: 'enabled', HttpTokens: 'required', HttpPutResponseHopLimit: 1 },
        BlockDeviceMappings: [volume('/dev/xvda', 30), volume('/dev/xvdcy', Number(env[BUILD_PROJECT_ENV.dataVolumeSizeGb]))],
        TagSpecifications: [runTagSpec('instance')],
      },
      'StepRunSourceInstance launches the build instance (into the default subnet of the default VPC when subnet_id is empty)',
    ),
    packer('ec2:DescribeInstances', { InstanceIds: [PACKER.instance] }, 'waits for the instance and reads its address for SSH'),
    // Provisioning runs over SSH. StepStopEBSBackedInstance:
    packer('ec2:StopInstances', { InstanceIds: [PACKER.instance] }, 'StepStopEBSBackedInstance stops the instance (tagged ManagedBy by run_tags)'),
    // stepCreateAMI: the image and its snapshots, tagged with run_tags at creation.
    packer(
      'ec2:CreateImage',
      { InstanceId: PACKER.instance, Name: `${env[BUILD_PROJECT_ENV.amiNamePrefix]}-20261128040000`, TagSpecifications: [runTagSpec('image'), runTagSpec('snapshot')] },
      'stepCreateAMI creates the image; "Attaching run tags to AMI" tags the image and its snapshots at creation',
    ),
    packer('ec2:DescribeImages', { ImageIds: [PACKER.image] }, 'stepCreateAMI waits for the image'),
    // StepModifyAMIAttributes: ami_description and imds_support, one call each.
    packer('ec2:ModifyImageAttribute', { ImageId: PACKER.image, Description: { Value: '…' } }, 'StepModifyAMIAttributes sets ami_description'),
    packer('ec2:ModifyImageAttribute', { ImageId: PACKER.image, ImdsSupport: { Value: 'v2.0' } }, 'StepModifyAMIAttributes sets imds_support'),
    // StepCreateTags: tags on the image, snapshot_tags on its snapshots.
    packer('ec2:CreateTags', { Resources: [PACKER.image], Tags: imageTags }, 'StepCreateTags puts `tags` on the image'),
    packer('ec2:CreateTags', { Resources: PACKER.snapshots, Tags: imageTags }, 'StepCreateTags puts `snapshot_tags` on the snapshots'),
    // Cleanup, in reverse: instance, volumes left over, security group, key pair.
    packer('ec2:TerminateInstances', { InstanceIds: [PACKER.instance] }, 'StepRunSourceInstance cleanup terminates the build instance'),
    packer('ec2:DescribeVolumes', { Filters: [{ Name: 'volume-id', Values: ['vol-1', 'vol-2'] }] }, 'StepCleanupVolumes looks for volumes left behind'),
    packer('ec2:DeleteSecurityGroup', { GroupId: PACKER.securityGroup }, 'StepSecurityGroup cleanup deletes the temporary group'),
    packer('ec2:DeleteKeyPair', { KeyName: PACKER.keyPair }, 'StepKeyPair cleanup deletes the temporary key pair'),
    // Failure after CreateImage (a provisioner or tagging step failed, or the build was stopped):
    // stepCreateAMI's cleanup deregisters the image and deletes its snapshots.
    packer('ec2:DeregisterImage', { ImageId: PACKER.image }, 'failure path: stepCreateAMI cleanup deregisters the half-made image'),
    ...PACKER.snapshots.map((s) => packer('ec2:DeleteSnapshot', { SnapshotId: s }, 'failure path: ... and deletes its snapshots')),
    // buildspec/tag-image-versions.sh, after Packer: the versions found on the build instance.
    { actor, action: 'ec2:DescribeImages', input: { ImageIds: [PACKER.image] }, region: f.region, because: 'buildspec/tag-image-versions.sh reads the snapshots of the image' },
    {
      actor,
      action: 'ec2:CreateTags',
      input: { Resources: [PACKER.image, ...PACKER.snapshots], Tags: [{ Key: AMI_TAGS.ecsAgentVersion, Value: '1.90.0' }] },
      region: f.region,
      because: 'buildspec/tag-image-versions.sh sets the version tags',
    },
  );
  return {
    actor,
    title: 'CodeBuild runs the bake, and Packer (amazon-ebs) builds the image, with the bake project role',
    docs: [DOCS.codeBuildServiceRole, ...(vpc ? [DOCS.codeBuildVpc] : []), DOCS.packerMinimalPolicy, DOCS.packerEbsSteps, ...(kmsKey ? [DOCS.ebsEncryption] : []), DOCS.tagOnCreate],
    calls,
  };
}

/** CloudFormation-supplied parameter types CloudFormation validates against the account, and the call it makes. */
const PARAMETER_TYPE_CHECKS: Record<string, string> = {
  'AWS::EC2::Image::Id': 'ec2:DescribeImages',
  'AWS::EC2::VPC::Id': 'ec2:DescribeVpcs',
  'List<AWS::EC2::VPC::Id>': 'ec2:DescribeVpcs',
  'AWS::EC2::Subnet::Id': 'ec2:DescribeSubnets',
  'List<AWS::EC2::Subnet::Id>': 'ec2:DescribeSubnets',
  'AWS::EC2::SecurityGroup::Id': 'ec2:DescribeSecurityGroups',
  'List<AWS::EC2::SecurityGroup::Id>': 'ec2:DescribeSecurityGroups',
  'AWS::EC2::KeyPair::KeyName': 'ec2:DescribeKeyPairs',
};

/** The names CloudFormation gives a stack's resources, and the ids used for them. */
export function clusterStackResources(stack: string, f: Pick<StageFacts, 'account' | 'region' | 'partition'>) {
  const hex = Buffer.from(stack).toString('hex').padEnd(16, '0').slice(0, 16);
  return {
    launchTemplate: `lt-${hex}`,
    group: `${stack}-instances`,
    // The template names neither the role nor the profile: CloudFormation names them <stack>-<LogicalId>-<suffix>.
    instanceRole: `arn:${f.partition}:iam::${f.account}:role/${stack}-InstanceRole-0A1B2C3D4E5F`,
    instanceProfile: `arn:${f.partition}:iam::${f.account}:instance-profile/${stack}-InstanceProfile-6G7H8I9J0K1L`,
    securityGroup: `sg-${hex}`,
    subnets: [`subnet-${hex}`],
    vpc: `vpc-${hex}`,
    instance: `i-${hex}`,
  };
}

function cloudFormationRollout(f: StageFacts, cluster: CfnTemplate): OnBehalfList[] {
  const actor = 'updateStack';
  const launchTemplate = cluster.Resources.LaunchTemplate?.Properties?.LaunchTemplateData as Record<string, any> | undefined;
  const group = cluster.Resources.AutoScalingGroup as { UpdatePolicy?: Record<string, any> } | undefined;
  if (!launchTemplate || !group) throw new Error('cluster/ecs-cluster.yml: no LaunchTemplate or AutoScalingGroup');
  const suspends = ((group.UpdatePolicy?.AutoScalingRollingUpdate?.SuspendProcesses ?? []) as string[]).length > 0;
  const tagTypes = ((launchTemplate.TagSpecifications ?? []) as { ResourceType: string }[]).map((t) => t.ResourceType);
  return f.stacks.map(({ stackName: stack, region }) => {
    const r = clusterStackResources(stack, f);
    const c = (action: string, input: Record<string, unknown>, because: string): EvaluableCall => ({
      actor,
      action,
      input,
      // CloudFormation works in the stack's region.
      region,
      via: 'cloudformation.amazonaws.com',
      because: `CloudFormation, with the caller's credentials (no stack role: ${DOCS.cfnCallerCredentials}): ${because}`,
    });
    const newAmi = 'ami-0baked00000000a0';
    const checks = [...new Set(Object.values(cluster.Parameters ?? {}).map((p) => PARAMETER_TYPE_CHECKS[p.Type]).filter((a): a is string => Boolean(a)))];
    return {
      actor,
      title: `CloudFormation rolls ${stack} (shaped like cluster/ecs-cluster.yml) onto a new image with updateStack's credentials`,
      docs: [DOCS.cfnCallerCredentials, DOCS.cfnParameterTypes, DOCS.cfnLaunchTemplate, DOCS.cfnRollingUpdate, DOCS.asgApiPermissions, DOCS.asgLaunchTemplatePermissions, DOCS.passRoleEc2],
      calls: [
        // Parameters of AWS-specific types are checked against the account before the update.
        ...checks.map((action) => c(action, {}, `validates the stack's ${action.replace('ec2:Describe', '')} parameters (${DOCS.cfnParameterTypes})`)),
        // The launch template: a new version with the new ImageId, made the default.
        c('ec2:DescribeLaunchTemplates', { LaunchTemplateIds: [r.launchTemplate] }, `reads the launch template (${DOCS.cfnLaunchTemplate})`),
        c('ec2:CreateLaunchTemplateVersion', { LaunchTemplateId: r.launchTemplate, LaunchTemplateData: { ImageId: newAmi } }, `a LaunchTemplateData change makes a new version (${DOCS.cfnLaunchTemplate})`),
        // The resource's update handler also sets the new version as the template's default (its
        // DefaultVersionNumber follows); which calls it makes exactly only AWS shows.
        c('ec2:ModifyLaunchTemplate', { LaunchTemplateId: r.launchTemplate, DefaultVersion: '2' }, `... and makes it the default version (${DOCS.cfnLaunchTemplate})`),
        c('ec2:DescribeLaunchTemplateVersions', { LaunchTemplateId: r.launchTemplate }, `reads the new version's number (LatestVersionNumber) (${DOCS.cfnLaunchTemplate})`),
        // The group: the rolling update (AutoScalingRollingUpdate with SuspendProcesses).
        c('autoscaling:DescribeAutoScalingGroups', { AutoScalingGroupNames: [r.group] }, `reads the group (${DOCS.cfnRollingUpdate})`),
        ...(suspends ? [c('autoscaling:SuspendProcesses', { AutoScalingGroupName: r.group }, `suspends the update policy's SuspendProcesses (${DOCS.cfnRollingUpdate})`)] : []),
        c(
          'autoscaling:UpdateAutoScalingGroup',
          { AutoScalingGroupName: r.group, LaunchTemplate: { LaunchTemplateId: r.launchTemplate, Version: '2' }, MinSize: 1, MaxSize: 2 },
          `points the group at the new version and resizes it for each batch (${DOCS.cfnRollingUpdate})`,
        ),
        // Auto Scaling checks that the caller may launch with the template: RunInstances on
        // everything the launch uses, CreateTags for the template's TagSpecifications, and PassRole
        // of its instance profile's role.
        c(
          'ec2:RunInstances',
          {
            LaunchTemplate: { LaunchTemplateId: r.launchTemplate, Version: '2' },
            ImageId: newAmi,
            InstanceType: 't3.medium',
            MinCount: 1,
            MaxCount: 1,
            SubnetId: r.subnets[0],
            SecurityGroupIds: [r.securityGroup],
            IamInstanceProfile: { Arn: r.instanceProfile },
            MetadataOptions: { HttpEndpoint: launchTemplate.MetadataOptions?.HttpEndpoint, HttpTokens: launchTemplate.MetadataOptions?.HttpTokens, HttpPutResponseHopLimit: 1 },
            BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { VolumeType: 'gp3', VolumeSize: 30, Encrypted: true } }],
            TagSpecifications: tagTypes.map((type) => ({ ResourceType: type, Tags: [{ Key: 'Name', Value: `${stack}-container-instance` }] })),
          },
          `Auto Scaling checks the caller may launch with the group's launch template: "ec2:RunInstances – To launch instances when a launch template is provided", "ec2:CreateTags – To tag instances and volumes on launch when a launch template with a tag specification is provided", "iam:PassRole – ... a launch template that specifies an instance profile" (${DOCS.asgApiPermissions}; ${DOCS.asgLaunchTemplatePermissions})`,
        ),
        c('autoscaling:DescribeScalingActivities', { AutoScalingGroupName: r.group }, `follows each batch (${DOCS.cfnRollingUpdate})`),
        c('autoscaling:DescribeAutoScalingInstances', { InstanceIds: [r.instance] }, `finds the old instances of each batch (${DOCS.cfnRollingUpdate})`),
        c(
          'autoscaling:TerminateInstanceInAutoScalingGroup',
          { InstanceId: r.instance, ShouldDecrementDesiredCapacity: true, AutoScalingGroupName: r.group },
          `replaces the old instances batch by batch (${DOCS.cfnRollingUpdate})`,
        ),
        ...(suspends ? [c('autoscaling:ResumeProcesses', { AutoScalingGroupName: r.group }, `resumes the processes at the end, or on rollback (${DOCS.cfnRollingUpdate})`)] : []),
      ],
    };
  });
}

/** Every on-behalf list for one packaged stage (resolved with local/iam/roles.ts). */
export function onBehalfCalls(template: Template, iam: PackagedIam, options: { packer?: PackerOptions; cluster?: CfnTemplate } = {}): OnBehalf {
  const f = stageFacts(template, iam);
  const packer = options.packer ?? packerOptionsInUse();
  const cluster = options.cluster ?? loadCfnYaml(path.join(ROOT, 'cluster', 'ecs-cluster.yml'));
  const lists = [stepFunctions(f), scheduler(f), codeBuildAndPacker(f, packer), ...cloudFormationRollout(f, cluster), ...lambdaLogs(f)];

  // Tags: what Packer made carries its run_tags (ManagedBy) from creation on; each stack's resources
  // carry CloudFormation's aws:cloudformation:stack-name.
  const arn = (service: string, rest: string, account = f.account) => `arn:${f.partition}:${service}:${f.region}:${account}:${rest}`;
  const packerTags = Object.fromEntries(Object.entries(packer.runTags).filter(([, v]) => !v.startsWith('var.')));
  const tags = new Map<string, Record<string, string>>();
  for (const rest of [`instance/${PACKER.instance}`, `key-pair/${PACKER.keyPair}`, `security-group/${PACKER.securityGroup}`]) tags.set(arn('ec2', rest), packerTags);
  for (const rest of [`image/${PACKER.image}`, ...PACKER.snapshots.map((s) => `snapshot/${s}`)]) tags.set(arn('ec2', rest, ''), packerTags);
  const instanceProfileRoles: Record<string, string> = {};
  for (const { stackName: stack, region } of f.stacks) {
    const r = clusterStackResources(stack, f);
    const stackTags = { 'aws:cloudformation:stack-name': stack, 'aws:cloudformation:logical-id': 'LaunchTemplate' };
    tags.set(`arn:${f.partition}:ec2:${region}:${f.account}:launch-template/${r.launchTemplate}`, stackTags);
    tags.set(autoScalingGroupArn(r.group, { ...f, region }), { 'aws:cloudformation:stack-name': stack, 'aws:cloudformation:logical-id': 'AutoScalingGroup' });
    instanceProfileRoles[r.instanceProfile] = r.instanceRole;
  }
  const context = new Map<string, Record<string, ContextValue>>();
  if (f.bakeEnv[BUILD_PROJECT_ENV.subnetId]) {
    context.set(arn('ec2', `network-interface/${PACKER.codeBuildInterface}`), { 'ec2:Subnet': arn('ec2', `subnet/${f.bakeEnv[BUILD_PROJECT_ENV.subnetId]}`) });
  }
  return {
    lists,
    environment: { resourceTags: (a) => tags.get(a), resourceContext: (a) => context.get(a), instanceProfileRoles },
  };
}
