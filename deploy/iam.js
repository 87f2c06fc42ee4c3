'use strict';
// IAM roles for every function, the state machine, the CodeBuild project and the scheduler,
// generated from the configured waves so each statement names the stacks and clusters it may touch.
// Rule: a "*" resource only for actions AWS gives no resource type, each with a comment saying so
// (test/deploy/iam.test.ts holds the generated policies to that).

const { requireTs } = require('./load-ts');

const ARN = 'arn:${AWS::Partition}';
const REGIONAL = (service) => `${ARN}:${service}:\${AWS::Region}:\${AWS::AccountId}`;

const sub = (text) => ({ 'Fn::Sub': text });

/** Serverless function key -> logical id prefix (checkRequest -> CheckRequest). */
const pascal = (key) => key.charAt(0).toUpperCase() + key.slice(1);

function statement(sid, actions, resources, condition) {
  return {
    Sid: sid,
    Effect: 'Allow',
    Action: actions,
    Resource: resources,
    ...(condition ? { Condition: condition } : {}),
  };
}

function role(service, assumedBy, description, statements) {
  return {
    Type: 'AWS::IAM::Role',
    Properties: {
      Description: description,
      AssumeRolePolicyDocument: {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { Service: assumedBy }, Action: 'sts:AssumeRole' }],
      },
      Policies: [{ PolicyName: service, PolicyDocument: { Version: '2012-10-17', Statement: statements } }],
    },
  };
}

function context(ctx) {
  const stacks = ctx.waves.flatMap((w) => w.clusters.map((c) => c.stackName));
  const clusters = [...new Set(ctx.waves.flatMap((w) => w.clusters.map((c) => c.clusterName)))];
  const { parameterNames } = requireTs('functions/lib/contracts.ts');
  const parameter = (name) => sub(`${REGIONAL('ssm')}:parameter${name}`);
  return {
    ...ctx,
    stacks,
    clusters,
    parameter,
    parameterPrefix: ctx.parameterPrefix.replace(/\/+$/, ''),
    parameterNames: parameterNames(ctx.parameterPrefix),
    stackArns: stacks.map((s) => sub(`${REGIONAL('cloudformation')}:stack/${s}/*`)),
    clusterArns: clusters.map((c) => sub(`${REGIONAL('ecs')}:cluster/${c}`)),
    containerInstanceArns: clusters.map((c) => sub(`${REGIONAL('ecs')}:container-instance/${c}/*`)),
    stateMachineArn: sub(`${REGIONAL('states')}:stateMachine:${ctx.service}-${ctx.stage}`),
    // Runs of this state machine (never its Distributed Map children, whose names carry a '/').
    executionArns: sub(`${REGIONAL('states')}:execution:${ctx.service}-${ctx.stage}:*`),
    runLedgerArn: sub(`${REGIONAL('dynamodb')}:table/${ctx.service}-${ctx.stage}-runs`),
    // AWS's public parameters live in no account, hence the empty account field.
    publicBaseAmiParameters: sub(`${ARN}:ssm:\${AWS::Region}::parameter/aws/service/ecs/optimized-ami/amazon-linux-2023/*`),
    functionLogGroup: (fn) => sub(`${REGIONAL('logs')}:log-group:/aws/lambda/${ctx.service}-${ctx.stage}-${fn}:*`),
  };
}

const DESCRIBE_IMAGES = (sid = 'DescribeImagesHasNoResourceType') =>
  // ec2:DescribeImages cannot be scoped to resources; SSM's aws:ec2:image data type also needs it.
  statement(sid, ['ec2:DescribeImages'], '*');

/** The permissions CloudFormation uses, with the caller's credentials, to roll a launch-template ASG. */
function callerCredentialRollout(c) {
  const ownedByStacks = (key) => ({ StringEquals: { [key]: c.stacks } });
  return [
    statement(
      'NewLaunchTemplateVersionsOfTheseStacks',
      ['ec2:CreateLaunchTemplateVersion', 'ec2:ModifyLaunchTemplate', 'ec2:CreateTags'],
      sub(`${REGIONAL('ec2')}:launch-template/*`),
      ownedByStacks('aws:ResourceTag/aws:cloudformation:stack-name'),
    ),
    statement(
      'RollTheseStacksGroups',
      [
        'autoscaling:UpdateAutoScalingGroup',
        'autoscaling:SuspendProcesses',
        'autoscaling:ResumeProcesses',
        'autoscaling:TerminateInstanceInAutoScalingGroup',
        'autoscaling:CreateOrUpdateTags',
      ],
      sub(`${REGIONAL('autoscaling')}:autoScalingGroup:*:autoScalingGroupName/*`),
      ownedByStacks('autoscaling:ResourceTag/aws:cloudformation:stack-name'),
    ),
    // Describe calls of EC2 and Auto Scaling have no resource types; CloudFormation uses them to
    // validate parameter types (AMI, subnets, VPC) and to follow the rolling update.
    statement(
      'DescribeCallsHaveNoResourceType',
      [
        'ec2:DescribeLaunchTemplates',
        'ec2:DescribeLaunchTemplateVersions',
        'ec2:DescribeImages',
        'ec2:DescribeSubnets',
        'ec2:DescribeVpcs',
        'ec2:DescribeSecurityGroups',
        'ec2:DescribeKeyPairs',
        'ec2:DescribeInstances',
        'autoscaling:DescribeAutoScalingGroups',
        'autoscaling:DescribeAutoScalingInstances',
        'autoscaling:DescribeScalingActivities',
        'autoscaling:DescribeScheduledActions',
        'autoscaling:DescribeLifecycleHooks',
      ],
      '*',
    ),
    // Auto Scaling checks that whoever points a group at a launch template may launch from it; the
    // condition keeps this to launches through a launch template of this account and region.
    statement('LaunchThroughLaunchTemplatesOnly', ['ec2:RunInstances'], '*', {
      ArnLike: { 'ec2:LaunchTemplate': sub(`${REGIONAL('ec2')}:launch-template/*`) },
    }),
    statement(
      'PassTheseStacksInstanceRolesToEc2',
      ['iam:PassRole'],
      c.stacks.map((s) => sub(`${ARN}:iam::\${AWS::AccountId}:role/${s}-*`)),
      { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } },
    ),
  ];
}

/**
 * The run ledger (contracts.ts, RUN_LEDGER), item by item: `dynamodb:LeadingKeys` limits a role to
 * the lock item, or to the notification markers.
 */
function ledger(c, sid, actions, keys) {
  return statement(sid, actions, c.runLedgerArn, { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': keys } });
}
const LOCK_ITEM = ['fleet-lock'];
const MARKER_ITEMS = ['notified#*'];

function functionRoles(c) {
  const stacksOnly = (sid, actions) => (c.stacks.length ? [statement(sid, actions, c.stackArns)] : []);
  const p = c.parameterNames;
  const names = {
    latest: [p.latestAmi, p.latestAmiRecord].map(c.parameter),
    current: [p.currentAmi, p.currentAmiRecord, p.currentBaseAmi].map(c.parameter),
    clusterRecords: c.parameter(`${p.clusterRecords}/*`),
  };
  // Steps that change something first check that this run holds the fleet (a redriven run takes it again).
  const fence = (sid = 'HoldTheFleetLock') => ledger(c, sid, ['dynamodb:GetItem', 'dynamodb:PutItem'], LOCK_ITEM);
  const readRegistration = (prefix) => [
    ...stacksOnly(`${prefix}FindTheStacksGroup`, ['cloudformation:DescribeStacks', 'cloudformation:DescribeStackResources']),
    // DescribeAutoScalingGroups has no resource type.
    statement(`${prefix}ReadGroupSize`, ['autoscaling:DescribeAutoScalingGroups'], '*'),
    ...(c.clusters.length
      ? [
          statement(`${prefix}ListConfiguredClustersInstances`, ['ecs:ListContainerInstances'], c.clusterArns),
          statement(`${prefix}DescribeConfiguredClustersInstances`, ['ecs:DescribeContainerInstances'], c.containerInstanceArns),
        ]
      : []),
  ];
  const work = {
    checkRequest: [
      // Everything under the stage's prefix: the values, their records, the clusters' records, and their history.
      statement('ReadPipelineParameters', ['ssm:GetParameter', 'ssm:GetParameters', 'ssm:GetParameterHistory'], c.parameter(`${c.parameterPrefix}/*`)),
      statement('ReadRecommendedBaseAmi', ['ssm:GetParameter'], c.publicBaseAmiParameters),
      DESCRIBE_IMAGES(),
      ledger(c, 'TakeTheFleetLock', ['dynamodb:GetItem', 'dynamodb:PutItem'], LOCK_ITEM),
      statement('SeeWhetherTheLockHolderStillRuns', ['states:DescribeExecution'], c.executionArns),
      // Every target is checked before anything is baked.
      ...stacksOnly('CheckConfiguredStacks', ['cloudformation:DescribeStacks']),
      ...(c.clusters.length ? [statement('CheckConfiguredClusters', ['ecs:DescribeClusters'], c.clusterArns)] : []),
    ],
    checkBaseAmi: [
      statement('ReadCurrentBaseAndAttempts', ['ssm:GetParameter'], [p.currentBaseAmi, p.baseAmiAttempts].map(c.parameter)),
      statement('RecordAttempts', ['ssm:PutParameter'], c.parameter(p.baseAmiAttempts)),
      statement('ReadRecommendedBaseAmi', ['ssm:GetParameter'], c.publicBaseAmiParameters),
      statement('StartThisPipeline', ['states:StartExecution'], c.stateMachineArn),
      ledger(c, 'SeeWhoHoldsTheFleet', ['dynamodb:GetItem'], LOCK_ITEM),
      statement('SeeWhetherTheLockHolderStillRuns', ['states:DescribeExecution'], c.executionArns),
    ],
    recordBakedAmi: [DESCRIBE_IMAGES(), statement('WriteLatestAmi', ['ssm:PutParameter'], names.latest), fence()],
    findConfirmedImage: [
      statement('ReadAndAdoptClusterRecords', ['ssm:GetParameter', 'ssm:PutParameter'], names.clusterRecords),
      ...readRegistration(''),
      fence(),
    ],
    updateStack: [
      ...stacksOnly('UpdateConfiguredStacks', ['cloudformation:DescribeStacks', 'cloudformation:UpdateStack']),
      // A retried update finds its own by the ClientRequestToken on the stack's events.
      ...stacksOnly('FindOwnUpdateInStackEvents', ['cloudformation:DescribeStackEvents']),
      fence(),
      ...(c.stackRoleArn
        ? [
            statement('PassTheStackServiceRole', ['iam:PassRole'], c.stackRoleArn, {
              StringEquals: { 'iam:PassedToService': 'cloudformation.amazonaws.com' },
            }),
          ]
        : c.stacks.length
          ? callerCredentialRollout(c)
          : []),
    ],
    checkStackUpdate: stacksOnly('FollowConfiguredStacks', ['cloudformation:DescribeStacks', 'cloudformation:DescribeStackEvents']),
    confirmRegistration: [
      ...readRegistration(''),
      statement('RecordConfirmedImages', ['ssm:GetParameter', 'ssm:PutParameter'], names.clusterRecords),
      fence(),
    ],
    assessWave: [],
    promoteAmi: [
      DESCRIBE_IMAGES(),
      statement('WriteCurrentAmi', ['ssm:PutParameter'], names.current),
      // The new value is read back: SSM validates aws:ec2:image values after answering.
      statement('ReadBackCurrentAmi', ['ssm:GetParameter'], c.parameter(p.currentAmi)),
      statement('ReadClusterRecords', ['ssm:GetParameters'], names.clusterRecords),
      fence(),
    ],
    notify: [
      statement('PublishToOps', ['sns:Publish'], { Ref: 'NotificationsTopic' }),
      statement('UseTheTopicKey', ['kms:GenerateDataKey*', 'kms:Decrypt'], { 'Fn::GetAtt': ['NotificationsKey', 'Arn'] }),
      ledger(c, 'MarkTheRunNotified', ['dynamodb:GetItem', 'dynamodb:PutItem'], MARKER_ITEMS),
    ],
    releaseFleet: [ledger(c, 'ReleaseTheFleetLock', ['dynamodb:DeleteItem'], LOCK_ITEM)],
    runEnded: [
      ledger(c, 'ReleaseALockLeftBehind', ['dynamodb:GetItem', 'dynamodb:DeleteItem'], LOCK_ITEM),
      ledger(c, 'AlertOnceARun', ['dynamodb:GetItem', 'dynamodb:PutItem'], MARKER_ITEMS),
      statement('AlertOps', ['sns:Publish'], { Ref: 'NotificationsTopic' }),
      statement('UseTheTopicKey', ['kms:GenerateDataKey*', 'kms:Decrypt'], { 'Fn::GetAtt': ['NotificationsKey', 'Arn'] }),
      // Names the clusters an interrupted run may have left off their confirmed image.
      statement('ReadClusterRecords', ['ssm:GetParameters'], names.clusterRecords),
      ...stacksOnly('ReadConfiguredStacksImages', ['cloudformation:DescribeStacks']),
    ],
  };
  const resources = {};
  for (const [fn, statements] of Object.entries(work)) {
    resources[`${pascal(fn)}Role`] = role(`${c.service}-${fn}`, 'lambda.amazonaws.com', `${c.service} ${c.stage}: function ${fn}`, [
      statement('WriteOwnLogs', ['logs:CreateLogStream', 'logs:PutLogEvents'], c.functionLogGroup(fn)),
      ...statements,
    ]);
  }
  return resources;
}

function stateMachineRole(c, functionKeys) {
  const functionArns = functionKeys.flatMap((fn) => {
    const arn = { 'Fn::GetAtt': [`${pascal(fn)}LambdaFunction`, 'Arn'] };
    return [arn, { 'Fn::Join': ['', [arn, ':*']] }];
  });
  return role(`${c.service}-state-machine`, 'states.amazonaws.com', `${c.service} ${c.stage}: the pipeline state machine`, [
    statement('InvokeThePipelinesFunctions', ['lambda:InvokeFunction'], functionArns),
    // The Distributed Map runs each cluster as a child execution of this state machine.
    statement('RunEachClusterAsAChildExecution', ['states:StartExecution'], c.stateMachineArn),
    statement(
      'FollowTheChildExecutions',
      ['states:DescribeExecution', 'states:StopExecution'],
      sub(`${REGIONAL('states')}:execution:${c.service}-${c.stage}/*`),
    ),
    // X-Ray tracing of the runs: these actions have no resource types.
    statement(
      'SendTracesHasNoResourceType',
      ['xray:PutTraceSegments', 'xray:PutTelemetryRecords', 'xray:GetSamplingRules', 'xray:GetSamplingTargets'],
      '*',
    ),
    statement('RunTheBakeBuild', ['codebuild:StartBuild', 'codebuild:StopBuild', 'codebuild:BatchGetBuilds'], {
      'Fn::GetAtt': ['BakeProject', 'Arn'],
    }),
    // startBuild.sync waits through a rule Step Functions manages under this fixed name.
    statement(
      'FollowTheBuildThroughStepFunctionsRule',
      ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
      sub(`${REGIONAL('events')}:rule/StepFunctionsGetEventsForCodeBuildStartBuildRule`),
    ),
    // Log delivery for Step Functions is configured through these calls, which AWS documents as
    // supporting no resource-level permissions.
    statement(
      'DeliverExecutionLogsHasNoResourceType',
      [
        'logs:CreateLogDelivery',
        'logs:GetLogDelivery',
        'logs:UpdateLogDelivery',
        'logs:DeleteLogDelivery',
        'logs:ListLogDeliveries',
        'logs:PutResourcePolicy',
        'logs:DescribeResourcePolicies',
        'logs:DescribeLogGroups',
      ],
      '*',
    ),
  ]);
}

function bakeProjectRole(c) {
  const inRegion = { StringEquals: { 'aws:RequestedRegion': sub('${AWS::Region}') } };
  const tagged = { StringEquals: { [`aws:ResourceTag/${c.managedByTag}`]: c.managedBy } };
  const statements = [
    statement(
      'WriteBuildLogs',
      ['logs:CreateLogStream', 'logs:PutLogEvents'],
      sub(`${REGIONAL('logs')}:log-group:/aws/codebuild/${c.service}-${c.stage}-bake:*`),
    ),
    statement('ReadPackerAssets', ['s3:GetObject', 's3:GetObjectVersion'], sub(`${ARN}:s3:::\${ServerlessDeploymentBucket}/packer-assets/*`)),
    statement('LocatePackerAssetsBucket', ['s3:GetBucketAcl', 's3:GetBucketLocation'], sub(`${ARN}:s3:::\${ServerlessDeploymentBucket}`)),
    statement('ReadRecommendedBaseAmi', ['ssm:GetParameter', 'ssm:GetParameters'], c.publicBaseAmiParameters),
    // Packer's amazon-ebs builder documents this set as its minimum. Its describe calls have no
    // resource types at all.
    statement(
      'PackerDescribeCallsHaveNoResourceType',
      [
        'ec2:DescribeImageAttribute',
        'ec2:DescribeImages',
        'ec2:DescribeInstances',
        'ec2:DescribeInstanceStatus',
        'ec2:DescribeRegions',
        'ec2:DescribeSecurityGroups',
        'ec2:DescribeSnapshots',
        'ec2:DescribeSubnets',
        'ec2:DescribeTags',
        'ec2:DescribeVolumes',
        'ec2:DescribeVpcs',
        'ec2:DescribeKeyPairs',
      ],
      '*',
    ),
    // The builder creates a temporary key pair, security group, instance, volumes, snapshots and
    // the image, none of which exist (or have ids) before the build: limited to this region.
    statement(
      'PackerCreatesItsTemporaryResources',
      [
        'ec2:RunInstances',
        'ec2:CreateKeyPair',
        'ec2:CreateSecurityGroup',
        'ec2:AuthorizeSecurityGroupIngress',
        'ec2:CreateVolume',
        'ec2:CreateSnapshot',
        'ec2:CreateImage',
        'ec2:RegisterImage',
        'ec2:CopyImage',
        'ec2:CreateTags',
      ],
      '*',
      inRegion,
    ),
    // Packer names its temporary key pair and security group packer_<uuid> but does not tag them,
    // so their deletion can only be limited to this region.
    statement('PackerRemovesItsKeyPairAndSecurityGroup', ['ec2:DeleteKeyPair', 'ec2:DeleteSecurityGroup'], '*', inRegion),
    // Everything destructive beyond that only touches resources the template tags ManagedBy
    // (run_tags, run_volume_tags, tags and snapshot_tags), never other instances or images.
    statement(
      'PackerChangesOnlyItsOwnResources',
      [
        'ec2:StopInstances',
        'ec2:TerminateInstances',
        'ec2:ModifyInstanceAttribute',
        'ec2:GetPasswordData',
        'ec2:AttachVolume',
        'ec2:DetachVolume',
        'ec2:DeleteVolume',
        'ec2:DeleteSnapshot',
        'ec2:DeregisterImage',
        'ec2:ModifyImageAttribute',
        'ec2:ModifySnapshotAttribute',
      ],
      '*',
      tagged,
    ),
  ];
  if (c.ebsKmsKeyId) {
    statements.push(
      statement(
        'EncryptTheImageWithTheConfiguredKey',
        ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:DescribeKey'],
        c.ebsKmsKeyId,
      ),
      statement('LetEbsUseTheKey', ['kms:CreateGrant'], c.ebsKmsKeyId, { Bool: { 'kms:GrantIsForAWSResource': true } }),
    );
  }
  if (c.buildVpcId) {
    // CodeBuild creates its own network interface in the build subnet; these calls accept no
    // narrower resource than "*" except the permission on the interface, scoped to the subnet.
    statements.push(
      statement(
        'CodeBuildInTheVpcHasNoResourceType',
        [
          'ec2:CreateNetworkInterface',
          'ec2:DescribeDhcpOptions',
          'ec2:DescribeNetworkInterfaces',
          'ec2:DeleteNetworkInterface',
        ],
        '*',
      ),
      statement('CodeBuildAttachesToTheBuildSubnet', ['ec2:CreateNetworkInterfacePermission'], sub(`${REGIONAL('ec2')}:network-interface/*`), {
        StringEquals: {
          'ec2:Subnet': sub(`${REGIONAL('ec2')}:subnet/${c.buildSubnetId}`),
          'ec2:AuthorizedService': 'codebuild.amazonaws.com',
        },
      }),
    );
  }
  return role(`${c.service}-bake`, 'codebuild.amazonaws.com', `${c.service} ${c.stage}: Packer build in CodeBuild`, statements);
}

function schedulerRole(c) {
  return role(`${c.service}-scheduler`, 'scheduler.amazonaws.com', `${c.service} ${c.stage}: weekly rebuild schedule`, [
    statement('StartThisPipeline', ['states:StartExecution'], c.stateMachineArn),
  ]);
}

const FUNCTION_KEYS = [
  'checkRequest',
  'checkBaseAmi',
  'recordBakedAmi',
  'findConfirmedImage',
  'updateStack',
  'checkStackUpdate',
  'confirmRegistration',
  'assessWave',
  'promoteAmi',
  'notify',
  'releaseFleet',
  'runEnded',
];
// checkBaseAmi is started by a schedule and runEnded by EventBridge, not by the state machine.
const STATE_MACHINE_FUNCTIONS = FUNCTION_KEYS.filter((fn) => fn !== 'checkBaseAmi' && fn !== 'runEnded');

/** All generated IAM resources, from plain values (a pure function; tested directly). */
function buildIamResources(ctx) {
  const c = context(ctx);
  return {
    ...functionRoles(c),
    StateMachineRole: stateMachineRole(c, STATE_MACHINE_FUNCTIONS),
    BakeProjectRole: bakeProjectRole(c),
    SchedulerRole: schedulerRole(c),
  };
}

async function resolveContext(resolveVariable) {
  const { validatedWaves } = require('./settings');
  const { AMI_TAGS, MANAGED_BY_VALUE } = requireTs('functions/lib/contracts.ts');
  const value = async (name) => {
    const v = await resolveVariable(name);
    return v === undefined || v === null ? '' : String(v);
  };
  return {
    service: await value('self:service'),
    stage: await value('sls:stage'),
    parameterPrefix: await value('param:parameterPrefix'),
    waves: await validatedWaves(resolveVariable),
    stackRoleArn: await value('param:stackRoleArn'),
    ebsKmsKeyId: await value('param:ebsKmsKeyId'),
    buildVpcId: await value('param:buildVpcId'),
    buildSubnetId: await value('param:buildSubnetId'),
    managedByTag: AMI_TAGS.managedBy,
    managedBy: MANAGED_BY_VALUE,
  };
}

module.exports = {
  FUNCTION_KEYS,
  STATE_MACHINE_FUNCTIONS,
  buildIamResources,
  resources: async ({ resolveVariable }) => ({ Resources: buildIamResources(await resolveContext(resolveVariable)) }),
};
