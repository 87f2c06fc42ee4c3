'use strict';
// IAM roles for every function, the state machine, the CodeBuild project and the scheduler,
// generated from the configured waves so each statement names the stacks and clusters it may touch.
// Rule: a "*" resource only for actions AWS gives no resource type, each with a comment saying so
// (test/deploy/iam.test.ts holds the generated policies to that). Rule: no grant that no handler can
// use and no call AWS makes with the role uses (local/iam/on-behalf.ts), unless its statement says
// in `{ usedOn }` which path needs it (test/iam/unused-grants.test.ts).

const { requireTs } = require('./load-ts');

const ARN = 'arn:${AWS::Partition}';
const REGIONAL = (service) => `${ARN}:${service}:\${AWS::Region}:\${AWS::AccountId}`;

const sub = (text) => ({ 'Fn::Sub': text });

/** Serverless function key -> logical id prefix (checkRequest -> CheckRequest). */
const pascal = (key) => key.charAt(0).toUpperCase() + key.slice(1);

/**
 * Why a grant is kept that no demo scenario and no on-behalf call list uses: statement -> usedOn.
 * A WeakMap, so the note never reaches the policy JSON CloudFormation gets (see grantNotes()).
 */
const NOTES = new WeakMap();

/**
 * One Allow statement: statement(sid, actions, resources[, condition][, { usedOn }]).
 *
 * `usedOn` names the path that needs a grant the checks do not exercise (a rollback-only call, a
 * call CloudFormation makes only for some stack changes, ...): a string for every action of the
 * statement, or an object by action. It is not part of the policy; grantNotes() returns it, and
 * test/iam/unused-grants.test.ts fails for an unused grant without one (the rule is explained there).
 */
function statement(sid, actions, resources, ...rest) {
  const last = rest[rest.length - 1];
  const note = last && typeof last === 'object' && Object.keys(last).length === 1 && 'usedOn' in last ? rest.pop() : undefined;
  const [condition] = rest;
  const s = {
    Sid: sid,
    Effect: 'Allow',
    Action: actions,
    Resource: resources,
    ...(condition ? { Condition: condition } : {}),
  };
  if (note) NOTES.set(s, note.usedOn);
  return s;
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

/** `arn:<partition>:<service>:<region>:<account>` of a target's region (the stage's own when it names none). */
const IN_REGION = (service, region) => (region ? `${ARN}:${service}:${region}:\${AWS::AccountId}` : REGIONAL(service));

function context(ctx) {
  const targets = ctx.waves.flatMap((w) => w.clusters);
  const stacks = targets.map((c) => c.stackName);
  const clusters = [...new Set(targets.map((c) => c.clusterName))];
  // Each cluster once per region it is in (a target naming another region is read and rolled there).
  const clusterPlaces = [...new Map(targets.map((c) => [`${c.region ?? ''}/${c.clusterName}`, { name: c.clusterName, region: c.region }])).values()];
  const soakPlaces = [
    ...new Map(ctx.waves.filter((w) => w.soak?.checkServices).flatMap((w) => w.clusters).map((c) => [`${c.region ?? ''}/${c.clusterName}`, { name: c.clusterName, region: c.region }])).values(),
  ];
  // The stage's region (undefined) and every other region a target names.
  const targetRegions = [undefined, ...new Set(targets.map((c) => c.region).filter((r) => r && r !== ctx.region))];
  const { parameterNames } = requireTs('functions/lib/contracts/index.ts');
  const parameter = (name) => sub(`${REGIONAL('ssm')}:parameter${name}`);
  return {
    ...ctx,
    stacks,
    clusters,
    parameter,
    parameterPrefix: ctx.parameterPrefix.replace(/\/+$/, ''),
    parameterNames: parameterNames(ctx.parameterPrefix),
    stackArns: targets.map((t) => sub(`${IN_REGION('cloudformation', t.region)}:stack/${t.stackName}/*`)),
    clusterArns: clusterPlaces.map((c) => sub(`${IN_REGION('ecs', c.region)}:cluster/${c.name}`)),
    targetRegions,
    /** One resource per target region, for grants whose resources are not named by the targets (launch templates, groups). */
    inTargetRegions: (service, rest) => targetRegions.map((r) => sub(`${IN_REGION(service, r)}:${rest}`)),
    soakAlarmArns: [...new Set(ctx.waves.flatMap((w) => w.soak?.alarms ?? []))].map((a) => sub(`${REGIONAL('cloudwatch')}:alarm:${a}`)),
    soakClusterArns: soakPlaces.map((c) => sub(`${IN_REGION('ecs', c.region)}:cluster/${c.name}`)),
    soakServiceArns: soakPlaces.map((c) => sub(`${IN_REGION('ecs', c.region)}:service/${c.name}/*`)),
    containerInstanceArns: clusterPlaces.map((c) => sub(`${IN_REGION('ecs', c.region)}:container-instance/${c.name}/*`)),
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

/**
 * The permissions CloudFormation uses, with the caller's credentials, to roll a launch-template ASG
 * (local/iam/on-behalf.ts lists those calls, from AWS's documentation, and test/iam/on-behalf.test.ts
 * evaluates them against this role).
 */
function callerCredentialRollout(c) {
  const ownedByStacks = (key) => ({ StringEquals: { [key]: c.stacks } });
  const otherStacks = 'stacks other than the reference cluster stack (cluster/ecs-cluster.yml)';
  return [
    statement(
      'NewLaunchTemplateVersionsOfTheseStacks',
      ['ec2:CreateLaunchTemplateVersion', 'ec2:ModifyLaunchTemplate', 'ec2:CreateTags'],
      c.inTargetRegions('ec2', 'launch-template/*'),
      ownedByStacks('aws:ResourceTag/aws:cloudformation:stack-name'),
      {
        usedOn: {
          'ec2:CreateTags':
            "CloudFormation-on-behalf, only when the stack's tags change: it re-tags the launch template. The pipeline's UpdateStack passes no Tags; kept for a stack whose tags someone changed since its last update",
        },
      },
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
      c.inTargetRegions('autoscaling', 'autoScalingGroup:*:autoScalingGroupName/*'),
      ownedByStacks('autoscaling:ResourceTag/aws:cloudformation:stack-name'),
      {
        usedOn: {
          'autoscaling:CreateOrUpdateTags':
            "CloudFormation-on-behalf, only when the group's tags change (stack tags or the group's Tags); an image update changes neither",
        },
      },
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
      {
        usedOn: {
          'ec2:DescribeSecurityGroups': `CloudFormation-on-behalf: parameter validation of AWS::EC2::SecurityGroup::Id parameters, in ${otherStacks}`,
          'ec2:DescribeKeyPairs': `CloudFormation-on-behalf: parameter validation of AWS::EC2::KeyPair::KeyName parameters, in ${otherStacks}`,
          'ec2:DescribeInstances': 'CloudFormation-on-behalf: following the instances of a rolling update batch (not in the documented call lists; read-only)',
          'autoscaling:DescribeScheduledActions':
            'CloudFormation-on-behalf: groups with scheduled actions under an AutoScalingScheduledAction update policy (read-only)',
          'autoscaling:DescribeLifecycleHooks':
            "CloudFormation-on-behalf: groups with lifecycle hooks (ECS managed draining adds one to a capacity provider's group; read-only)",
        },
      },
    ),
    // Auto Scaling checks that whoever points a group at a launch template may launch from it; the
    // condition keeps this to launches through a launch template of this account and region.
    statement('LaunchThroughLaunchTemplatesOnly', ['ec2:RunInstances'], '*', {
      ArnLike: { 'ec2:LaunchTemplate': c.targetRegions.length > 1 ? c.inTargetRegions('ec2', 'launch-template/*') : sub(`${REGIONAL('ec2')}:launch-template/*`) },
    }),
    // ... and, when the template has TagSpecifications, that it may tag what the launch creates
    // (https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-api-permissions.html:
    // "ec2:CreateTags - To tag instances and volumes on launch when a launch template with a tag
    // specification is provided"). Only as part of RunInstances: ec2:CreateAction.
    statement(
      'TagWhatTheLaunchTemplateLaunches',
      ['ec2:CreateTags'],
      ['instance', 'volume', 'network-interface'].flatMap((type) => c.inTargetRegions('ec2', `${type}/*`)),
      { StringEquals: { 'ec2:CreateAction': 'RunInstances' } },
    ),
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
function ledger(c, sid, actions, keys, ...note) {
  return statement(sid, actions, c.runLedgerArn, { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': keys } }, ...note);
}
const LOCK_ITEM = ['fleet-lock'];
const MARKER_ITEMS = ['notified#*'];
const APPROVAL_ITEMS = ['approval#*'];

/**
 * Paths of the functions that no demo scenario takes (the handler code can reach them: see
 * test/iam/unused-grants.test.ts), named on their grants for `make iam-report`.
 */
const PATHS = {
  lockHeld: 'lock contention: another run holds the fleet lock, and this step asks whether it still runs',
  retakeLock: 'a redriven run (or one whose lock run-ended released) takes the free lock again at its next fenced step',
  rollback: 'rollback runs (`rollback {}` / `rollback.toAmi`): the rollback target comes from the history of ami/current and the cluster records',
  groupWithoutOutput: 'a stack without an AutoScalingGroupName output: its group is found among the stack resources',
  retriedUpdate: 'a retried UpdateStack whose first answer was lost finds its own update by its ClientRequestToken in the stack events',
  runEnded: 'a run that ended without notifying (failed outside a Catch, timed out, stopped): run-ended releases its lock, alerts ops once and names the stacks it may have left',
};

function functionRoles(c) {
  const stacksOnly = (sid, actions, ...note) => (c.stacks.length ? [statement(sid, actions, c.stackArns, ...note)] : []);
  const p = c.parameterNames;
  const names = {
    // ami/latest, and ami/<architecture>/latest for clusters that declare another architecture.
    latest: [p.latestAmi, p.latestAmiRecord, ...['x86_64', 'arm64'].flatMap((a) => [p.latestAmiFor(a), p.latestAmiRecordFor(a)])].map(c.parameter),
    current: [p.currentAmi, p.currentAmiRecord, p.currentBaseAmi, ...['x86_64', 'arm64'].map((a) => p.currentAmiFor(a))].map(c.parameter),
    clusterRecords: c.parameter(`${p.clusterRecords}/*`),
  };
  // Steps that change something first check that this run holds the fleet (a redriven run takes it again).
  const fence = (sid = 'HoldTheFleetLock') => ledger(c, sid, ['dynamodb:GetItem', 'dynamodb:PutItem'], LOCK_ITEM, { usedOn: { 'dynamodb:PutItem': PATHS.retakeLock } });
  const readRegistration = (prefix) => [
    ...stacksOnly(`${prefix}FindTheStacksGroup`, ['cloudformation:DescribeStacks', 'cloudformation:DescribeStackResources'], {
      usedOn: { 'cloudformation:DescribeStackResources': PATHS.groupWithoutOutput },
    }),
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
      statement('ReadPipelineParameters', ['ssm:GetParameter', 'ssm:GetParameters', 'ssm:GetParameterHistory'], c.parameter(`${c.parameterPrefix}/*`), {
        usedOn: { 'ssm:GetParameters': PATHS.rollback, 'ssm:GetParameterHistory': PATHS.rollback },
      }),
      statement('ReadRecommendedBaseAmi', ['ssm:GetParameter'], c.publicBaseAmiParameters),
      DESCRIBE_IMAGES(),
      ledger(c, 'TakeTheFleetLock', ['dynamodb:GetItem', 'dynamodb:PutItem'], LOCK_ITEM),
      statement('SeeWhetherTheLockHolderStillRuns', ['states:DescribeExecution'], c.executionArns, { usedOn: PATHS.lockHeld }),
      // Every target is checked before anything is baked.
      ...stacksOnly('CheckConfiguredStacks', ['cloudformation:DescribeStacks']),
      ...(c.clusters.length ? [statement('CheckConfiguredClusters', ['ecs:DescribeClusters'], c.clusterArns)] : []),
      // A wave's soak alarms must exist before anything is baked.
      ...(c.soakAlarmArns.length ? [statement('CheckTheSoakAlarmsExist', ['cloudwatch:DescribeAlarms'], c.soakAlarmArns)] : []),
    ],
    checkBaseAmi: [
      statement('ReadCurrentBaseAndAttempts', ['ssm:GetParameter'], [p.currentBaseAmi, p.baseAmiAttempts].map(c.parameter)),
      statement('RecordAttempts', ['ssm:PutParameter'], c.parameter(p.baseAmiAttempts)),
      statement('ReadRecommendedBaseAmi', ['ssm:GetParameter'], c.publicBaseAmiParameters),
      statement('StartThisPipeline', ['states:StartExecution'], c.stateMachineArn),
      ledger(c, 'SeeWhoHoldsTheFleet', ['dynamodb:GetItem'], LOCK_ITEM),
      statement('SeeWhetherTheLockHolderStillRuns', ['states:DescribeExecution'], c.executionArns, { usedOn: PATHS.lockHeld }),
    ],
    recordBakedAmi: [DESCRIBE_IMAGES(), statement('WriteLatestAmi', ['ssm:PutParameter'], names.latest), fence(), ...sharingStatements(c)],
    findConfirmedImage: [
      statement('ReadAndAdoptClusterRecords', ['ssm:GetParameter', 'ssm:PutParameter'], names.clusterRecords),
      ...readRegistration(''),
      fence(),
    ],
    updateStack: [
      ...stacksOnly('UpdateConfiguredStacks', ['cloudformation:DescribeStacks', 'cloudformation:UpdateStack']),
      // A retried update finds its own by the ClientRequestToken on the stack's events.
      ...stacksOnly('FindOwnUpdateInStackEvents', ['cloudformation:DescribeStackEvents'], { usedOn: PATHS.retriedUpdate }),
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
    // Decides without AWS; keeps a refused approval (its parameter history is the audit trail).
    assessWave: [
      statement('KeepRefusedApprovals', ['ssm:GetParameter', 'ssm:PutParameter'], c.parameter(p.refusedApproval), {
        usedOn: 'a wave whose approval is rejected or not answered in time (make demo SCENARIO=approval-rejected; the e2e success scenario approves)',
      }),
    ],
    requestApproval: [
      ledger(c, 'KeepTheApprovalsTaskToken', ['dynamodb:PutItem'], APPROVAL_ITEMS),
      statement('AskOps', ['sns:Publish'], { Ref: 'NotificationsTopic' }),
      statement('UseTheTopicKey', ['kms:GenerateDataKey*', 'kms:Decrypt'], { 'Fn::GetAtt': ['NotificationsKey', 'Arn'] }),
    ],
    checkSoak: [
      ...(c.soakAlarmArns.length ? [statement('WatchTheWavesAlarms', ['cloudwatch:DescribeAlarms'], c.soakAlarmArns)] : []),
      ...(c.soakClusterArns.length
        ? [
            // ListServices has no resource type; its ecs:cluster condition keeps it to the soaking clusters.
            statement('ListTheSoakingClustersServices', ['ecs:ListServices'], '*', { ArnEquals: { 'ecs:cluster': c.soakClusterArns } }),
            statement('ReadTheSoakingClustersServices', ['ecs:DescribeServices'], c.soakServiceArns),
          ]
        : []),
    ],
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
      ledger(c, 'ReleaseALockLeftBehind', ['dynamodb:GetItem', 'dynamodb:DeleteItem'], LOCK_ITEM, { usedOn: { 'dynamodb:DeleteItem': PATHS.runEnded } }),
      ledger(c, 'AlertOnceARun', ['dynamodb:GetItem', 'dynamodb:PutItem'], MARKER_ITEMS, { usedOn: { 'dynamodb:PutItem': PATHS.runEnded } }),
      statement('AlertOps', ['sns:Publish'], { Ref: 'NotificationsTopic' }, { usedOn: PATHS.runEnded }),
      statement('UseTheTopicKey', ['kms:GenerateDataKey*', 'kms:Decrypt'], { 'Fn::GetAtt': ['NotificationsKey', 'Arn'] }, { usedOn: PATHS.runEnded }),
      // Names the clusters an interrupted run may have left off their confirmed image.
      statement('ReadClusterRecords', ['ssm:GetParameters'], names.clusterRecords, { usedOn: PATHS.runEnded }),
      ...stacksOnly('ReadConfiguredStacksImages', ['cloudformation:DescribeStacks'], { usedOn: PATHS.runEnded }),
    ],
    retainImages: retentionStatements(c, stacksOnly),
    copyImage: copyStatements(c, fence),
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

/**
 * Retention reads everything that may use an image, then deregisters and deletes only what carries
 * this stage's tags: the conditions, not the code, are what keep it off other stages' and other
 * tools' images, snapshots and instances.
 */
function retentionStatements(c, stacksOnly) {
  const { AMI_TAGS, BAKE_INSTANCE_TAGS, BAKE_INSTANCE_PURPOSE, MANAGED_BY_VALUE } = requireTs('functions/lib/contracts/index.ts');
  const stageTags = { [`aws:ResourceTag/${AMI_TAGS.managedBy}`]: MANAGED_BY_VALUE, [`aws:ResourceTag/${AMI_TAGS.stage}`]: c.stage };
  // Images and snapshots have no account in their ARNs; the copies in copyToRegions are retained there too.
  const copyRegions = (c.copyToRegions ?? []).map((t) => t.region);
  const images = [sub(`${ARN}:ec2:\${AWS::Region}::image/*`), ...copyRegions.map((r) => sub(`${ARN}:ec2:${r}::image/*`))];
  const snapshots = [sub(`${ARN}:ec2:\${AWS::Region}::snapshot/*`), ...copyRegions.map((r) => sub(`${ARN}:ec2:${r}::snapshot/*`))];
  return [
    // ami/current and its history, ami/latest, the promotion record and every cluster record (by path).
    statement('ReadPipelineParameters', ['ssm:GetParameter', 'ssm:GetParameterHistory', 'ssm:GetParametersByPath'], c.parameter(`${c.parameterPrefix}/*`)),
    // Each copy region's ami/latest (the survey there reads the stage's parameters by the same names).
    ...(copyRegions.length
      ? [
          statement(
            'ReadTheCopyRegionsParameters',
            ['ssm:GetParameter', 'ssm:GetParameterHistory', 'ssm:GetParametersByPath'],
            copyRegions.map((r) => sub(`${ARN}:ssm:${r}:\${AWS::AccountId}:parameter${c.parameterPrefix}/*`)),
          ),
        ]
      : []),
    // Describe calls of EC2 and Auto Scaling have no resource types.
    statement(
      'FindImagesAndWhatUsesThem',
      [
        'ec2:DescribeImages',
        'ec2:DescribeSnapshots',
        'ec2:DescribeInstances',
        'ec2:DescribeSecurityGroups',
        'ec2:DescribeKeyPairs',
        'ec2:DescribeLaunchTemplateVersions',
        'autoscaling:DescribeAutoScalingGroups',
        'autoscaling:DescribeLaunchConfigurations',
      ],
      '*',
      { usedOn: { 'autoscaling:DescribeLaunchConfigurations': 'retention, for a configured stack whose group still launches from a (deprecated) launch configuration; the reference stack uses a launch template' } },
    ),
    ...stacksOnly('ReadConfiguredStacksImageAndGroups', ['cloudformation:DescribeStacks', 'cloudformation:DescribeStackResources']),
    statement('SeeRunsInFlight', ['states:ListExecutions'], c.stateMachineArn),
    statement('ReadTheInputOfRunsInFlight', ['states:DescribeExecution'], c.executionArns),
    statement('DeregisterAndDeprecateOnlyThisStagesImages', ['ec2:DeregisterImage', 'ec2:EnableImageDeprecation'], images, { StringEquals: stageTags }),
    statement('DeleteOnlyThisStagesSnapshots', ['ec2:DeleteSnapshot'], snapshots, { StringEquals: stageTags }),
    statement('TerminateOnlyThisStagesBuildInstances', ['ec2:TerminateInstances'], sub(`${REGIONAL('ec2')}:instance/*`), {
      StringEquals: { ...stageTags, [`aws:ResourceTag/${BAKE_INSTANCE_TAGS.purpose}`]: BAKE_INSTANCE_PURPOSE },
    }),
    statement(
      'DeleteOnlyThisStagesBakeGroupsAndKeys',
      ['ec2:DeleteSecurityGroup', 'ec2:DeleteKeyPair'],
      ['security-group', 'key-pair'].map((type) => sub(`${REGIONAL('ec2')}:${type}/*`)),
      { StringEquals: { ...stageTags, [`aws:ResourceTag/${BAKE_INSTANCE_TAGS.purpose}`]: BAKE_INSTANCE_PURPOSE } },
    ),
    statement('TellOps', ['sns:Publish'], { Ref: 'NotificationsTopic' }),
    statement('UseTheTopicKey', ['kms:GenerateDataKey*', 'kms:Decrypt'], { 'Fn::GetAtt': ['NotificationsKey', 'Arn'] }),
  ];
}

/**
 * Copying each baked image to the configured regions (param copyToRegions): the copy is created and
 * tagged there (tag-on-create only), encrypted with the region's key, shared like the image, and
 * recorded as ami/latest in that region's SSM. Nothing when no region is configured.
 */
function copyStatements(c, fence) {
  const targets = c.copyToRegions ?? [];
  if (!targets.length) return [];
  const inRegion = (region, rest) => sub(`${ARN}:${rest.service}:${region}:${rest.account ?? '${AWS::AccountId}'}:${rest.resource}`);
  const images = targets.map((t) => inRegion(t.region, { service: 'ec2', account: '', resource: 'image/*' }));
  const snapshots = targets.map((t) => inRegion(t.region, { service: 'ec2', account: '', resource: 'snapshot/*' }));
  const p = c.parameterNames;
  const keys = targets.map((t) => t.kmsKeyId).filter(Boolean);
  const share = c.shareWith ?? { accounts: [], organizationArns: [], organizationalUnitArns: [] };
  const sharing = share.accounts.length + share.organizationArns.length + share.organizationalUnitArns.length > 0;
  const { AMI_TAGS, MANAGED_BY_VALUE } = requireTs('functions/lib/contracts/index.ts');
  const stageTags = { StringEquals: { [`aws:ResourceTag/${AMI_TAGS.managedBy}`]: MANAGED_BY_VALUE, [`aws:ResourceTag/${AMI_TAGS.stage}`]: c.stage } };
  return [
    DESCRIBE_IMAGES(),
    fence(),
    // The source image (this region) and the new image and snapshots in each configured region.
    statement('CopyTheImageToTheConfiguredRegions', ['ec2:CopyImage'], [sub(`${ARN}:ec2:\${AWS::Region}::image/*`), ...images, ...snapshots]),
    statement('TagTheCopiesAsCopyImageCreatesThem', ['ec2:CreateTags'], [...images, ...snapshots], { StringEquals: { 'ec2:CreateAction': 'CopyImage' } }),
    ...(keys.length
      ? [
          // What EBS does with the caller's permissions on a customer managed key (as for the bake).
          statement('EncryptTheCopiesWithTheirRegionsKeys', ['kms:DescribeKey', 'kms:CreateGrant', 'kms:GenerateDataKeyWithoutPlaintext', 'kms:Decrypt', 'kms:ReEncrypt*'], keys, {
            usedOn: { 'kms:ReEncrypt*': 'a copy of an image encrypted under another key (EBS re-encrypts it under the region\'s key)' },
          }),
        ]
      : []),
    ...(c.ebsKmsKeyId
      ? [statement('ReadTheImagesOwnKeyForTheCopy', ['kms:Decrypt', 'kms:DescribeKey'], c.ebsKmsKeyId, { usedOn: 'copying an image encrypted under the stage\'s customer managed key (ebsKmsKeyId)' })]
      : []),
    ...(sharing
      ? [
          statement('ShareTheCopies', ['ec2:ModifyImageAttribute'], images, stageTags, { usedOn: 'a stage that shares its images (shareWith) and copies them' }),
          ...(share.accounts.length
            ? [statement('LetTheAccountsCopyTheCopiesSnapshots', ['ec2:ModifySnapshotAttribute'], snapshots, stageTags, { usedOn: 'a stage that shares its images with accounts and copies them' })]
            : []),
        ]
      : []),
    statement(
      'RecordTheCopiesInTheirRegions',
      ['ssm:PutParameter'],
      targets.flatMap((t) => [p.latestAmi, p.latestAmiRecord].map((name) => inRegion(t.region, { service: 'ssm', resource: `parameter${name}` }))),
    ),
  ];
}

/** Sharing a baked image (param shareWith): only this stage's images and snapshots, by their tags. */
function sharingStatements(c) {
  const share = c.shareWith ?? { accounts: [], organizationArns: [], organizationalUnitArns: [] };
  if (!share.accounts.length && !share.organizationArns.length && !share.organizationalUnitArns.length) return [];
  const { AMI_TAGS, MANAGED_BY_VALUE } = requireTs('functions/lib/contracts/index.ts');
  const stageTags = { StringEquals: { [`aws:ResourceTag/${AMI_TAGS.managedBy}`]: MANAGED_BY_VALUE, [`aws:ResourceTag/${AMI_TAGS.stage}`]: c.stage } };
  const usedOn = { usedOn: 'a stage whose shareWith param names accounts, organizations or OUs (the demo shares with nobody)' };
  return [
    statement('ShareThisStagesImages', ['ec2:ModifyImageAttribute'], sub(`${ARN}:ec2:\${AWS::Region}::image/*`), stageTags, usedOn),
    ...(share.accounts.length
      ? [statement('LetTheAccountsCopyThisStagesSnapshots', ['ec2:ModifySnapshotAttribute'], sub(`${ARN}:ec2:\${AWS::Region}::snapshot/*`), stageTags, usedOn)]
      : []),
  ];
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

/**
 * What CodeBuild and Packer do with the project's role. Packer's amazon-ebs builder documents a
 * minimal policy (https://developer.hashicorp.com/packer/integrations/hashicorp/amazon#iam-task-or-instance-role);
 * this is the part of it that packer/ecs-ami.pkr.hcl's options use: local/iam/on-behalf.ts lists
 * those calls step by step and test/iam/on-behalf.test.ts evaluates them against this role. Left
 * out, because no option of the template uses them: ec2:CopyImage (ami_regions, encrypt_boot),
 * ec2:RegisterImage, CreateVolume, AttachVolume, DetachVolume, CreateSnapshot (the chroot, surrogate
 * and volume builders), GetPasswordData (Windows), ModifySnapshotAttribute (snapshot_users/groups),
 * ModifyInstanceAttribute (ena_support, sriov_support), DeleteVolume (only for volumes the base AMI
 * maps outside launch_block_device_mappings and that run_volume_tags tagged, neither of which
 * happens), and SSM (the pipeline always passes the base AMI).
 */
function bakeProjectRole(c) {
  const inRegion = { StringEquals: { 'aws:RequestedRegion': sub('${AWS::Region}') } };
  const tagged = { StringEquals: { [`aws:ResourceTag/${c.managedByTag}`]: c.managedBy } };
  const packerMinimum =
    "in Packer's documented minimal policy, but no step of this template's build is known to call it (read-only, kept so a plugin upgrade does not fail a bake)";
  const statements = [
    statement(
      'WriteBuildLogs',
      ['logs:CreateLogStream', 'logs:PutLogEvents'],
      sub(`${REGIONAL('logs')}:log-group:/aws/codebuild/${c.service}-${c.stage}-bake:*`),
    ),
    statement('ReadPackerAssets', ['s3:GetObject', 's3:GetObjectVersion'], sub(`${ARN}:s3:::\${ServerlessDeploymentBucket}/packer-assets/*`), {
      usedOn: {
        's3:GetObjectVersion': 'a build started with a sourceVersion (an S3 object version); the pipeline starts none, a person re-running an old build may',
      },
    }),
    statement('LocatePackerAssetsBucket', ['s3:GetBucketAcl', 's3:GetBucketLocation'], sub(`${ARN}:s3:::\${ServerlessDeploymentBucket}`)),
    // The describe calls have no resource types at all.
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
        'ec2:DescribeTags',
        'ec2:DescribeVolumes',
        'ec2:DescribeKeyPairs',
      ],
      '*',
      {
        usedOn: Object.fromEntries(
          ['ec2:DescribeImageAttribute', 'ec2:DescribeInstanceStatus', 'ec2:DescribeSnapshots', 'ec2:DescribeTags', 'ec2:DescribeKeyPairs'].map((a) => [a, packerMinimum]),
        ),
      },
    ),
    // The builder creates a temporary key pair, security group and instance, and the image with its
    // snapshots, none of which exist (or have ids) before the build: limited to this region. Packer
    // tags each at creation with run_tags (ManagedBy), hence ec2:CreateTags; it also tags the image
    // and snapshots (tags, snapshot_tags, and buildspec/tag-image-versions.sh afterwards).
    statement(
      'PackerCreatesItsTemporaryResources',
      ['ec2:RunInstances', 'ec2:CreateKeyPair', 'ec2:CreateSecurityGroup', 'ec2:AuthorizeSecurityGroupIngress', 'ec2:CreateImage', 'ec2:CreateTags'],
      '*',
      inRegion,
    ),
    // Everything destructive touches only what Packer tagged ManagedBy when it made it (run_tags on
    // the instance, key pair, security group, and at CreateImage on the image and its snapshots,
    // except in GovCloud and China: see restrictedPartitionImageAttributes), never other
    // instances, images or groups.
    statement(
      'PackerChangesOnlyItsOwnResources',
      [
        'ec2:StopInstances',
        'ec2:TerminateInstances',
        'ec2:DeleteKeyPair',
        'ec2:DeleteSecurityGroup',
        'ec2:ModifyImageAttribute',
        'ec2:DeregisterImage',
        'ec2:DeleteSnapshot',
      ],
      '*',
      tagged,
    ),
    restrictedPartitionImageAttributes(c),
  ];
  if (c.ebsKmsKeyId) {
    // What EBS does with the caller's permissions on a customer managed key
    // (https://docs.aws.amazon.com/ebs/latest/userguide/ebs-encryption-requirements.html).
    statements.push(
      statement('EncryptTheImageWithTheConfiguredKey', ['kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:DescribeKey'], c.ebsKmsKeyId, {
        usedOn: {
          'kms:ReEncrypt*':
            'a base AMI whose snapshots are encrypted under another key (EBS re-encrypts them under this one); the ECS-optimized base snapshots are not encrypted',
        },
      }),
      statement('LetEbsUseTheKey', ['kms:CreateGrant'], c.ebsKmsKeyId, { Bool: { 'kms:GrantIsForAWSResource': true } }),
    );
  }
  if (c.buildVpcId) {
    // CodeBuild creates its own network interface in the build subnet
    // (https://docs.aws.amazon.com/codebuild/latest/userguide/auth-and-access-control-iam-identity-based-access-control.html#customer-managed-policies-example-create-vpc-network-interface);
    // these calls accept no narrower resource than "*" except the permission on the interface,
    // scoped to the subnet. Packer reads the subnet (its zone) and packer-vars.sh the VPC (its CIDRs).
    statements.push(
      statement(
        'CodeBuildInTheVpcHasNoResourceType',
        [
          'ec2:CreateNetworkInterface',
          'ec2:DescribeDhcpOptions',
          'ec2:DescribeNetworkInterfaces',
          'ec2:DeleteNetworkInterface',
          'ec2:DescribeSubnets',
          'ec2:DescribeVpcs',
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

/**
 * Regions where packer-plugin-amazon creates the image without tags: its stepCreateAMI skips the
 * TagSpecifications when `IsChinaCloud() || IsGovCloud()` (builder/ebs/builder.go), which test the
 * build region's prefix (builder/common/access_config.go). The same prefixes, so this statement
 * applies exactly where the plugin behaves differently.
 */
const UNTAGGED_IMAGE_REGIONS = ['us-gov-*', 'cn-*'];

/**
 * In GovCloud and China the image Packer creates has no tags until StepCreateTags, the builder's
 * last step; StepModifyAMIAttributes runs before it and calls ModifyImageAttribute for
 * ami_description and imds_support, which the ManagedBy condition of PackerChangesOnlyItsOwnResources
 * refuses there (the bake fails). Both options stay in the template: imds_support is a security
 * setting of the image, and setting it after the build would leave a window and a second code path.
 *
 * So ModifyImageAttribute is also allowed on an image that has no ManagedBy tag yet, but only in
 * those regions (aws:RequestedRegion; the resource is this deployment's region, so the statement
 * can never match in another partition, where the image is tagged at creation). IAM has no key
 * that ties an image to the build that made it, so this is "an untagged image of this account".
 * Not DeregisterImage or DeleteSnapshot: granted on anything untagged they could destroy other
 * tools' images and backups, for a path (Packer's cleanup after a failure between CreateImage and
 * its tagging) that only matters when a bake already failed; docs/image.md says what it leaves.
 */
function restrictedPartitionImageAttributes(c) {
  return statement(
    'PackerSetsItsImageAttributesBeforeTaggingInGovCloudAndChina',
    ['ec2:ModifyImageAttribute'],
    sub(`${ARN}:ec2:\${AWS::Region}::image/*`),
    {
      StringLike: { 'aws:RequestedRegion': UNTAGGED_IMAGE_REGIONS },
      Null: { [`aws:ResourceTag/${c.managedByTag}`]: 'true' },
    },
    // No usedOn: local/iam/on-behalf.ts lists these two ModifyImageAttribute calls, and the unused-grant
    // check matches a grant by action and resource, not condition (a note would count as stale).
  );
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
  'copyImage',
  'requestApproval',
  'checkSoak',
  'promoteAmi',
  'notify',
  'releaseFleet',
  'runEnded',
  'retainImages',
];
// checkBaseAmi is started by a schedule, runEnded by EventBridge and retainImages by both, not by the state machine.
const STATE_MACHINE_FUNCTIONS = FUNCTION_KEYS.filter((fn) => !['checkBaseAmi', 'runEnded', 'retainImages'].includes(fn));

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

/**
 * The notes of buildIamResources(ctx)'s statements: { <role logical id>: { <Sid>: usedOn } }, where
 * usedOn is a string (every action of the statement) or { <action>: string }.
 */
function grantNotes(ctx) {
  const notes = {};
  for (const [roleId, resource] of Object.entries(buildIamResources(ctx))) {
    for (const policy of resource.Properties.Policies) {
      for (const s of policy.PolicyDocument.Statement) {
        if (NOTES.has(s)) (notes[roleId] ??= {})[s.Sid] = NOTES.get(s);
      }
    }
  }
  return notes;
}

async function resolveContext(resolveVariable) {
  const { validatedWaves, validatedEbsKmsKeyId, validatedShareWith, validatedCopyToRegions } = require('./settings');
  const { AMI_TAGS, MANAGED_BY_VALUE } = requireTs('functions/lib/contracts/index.ts');
  const value = async (name) => {
    const v = await resolveVariable(name);
    return v === undefined || v === null ? '' : String(v);
  };
  return {
    service: await value('self:service'),
    stage: await value('sls:stage'),
    region: await value('self:provider.region'),
    parameterPrefix: await value('param:parameterPrefix'),
    waves: await validatedWaves(resolveVariable),
    stackRoleArn: await value('param:stackRoleArn'),
    ebsKmsKeyId: await validatedEbsKmsKeyId(resolveVariable),
    shareWith: await validatedShareWith(resolveVariable),
    copyToRegions: await validatedCopyToRegions(resolveVariable),
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
  grantNotes,
  resources: async ({ resolveVariable }) => ({ Resources: buildIamResources(await resolveContext(resolveVariable)) }),
};
