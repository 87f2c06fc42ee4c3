/** The generated IAM: every "*" is justified, everything else names the configured resources. */
import { evaluateCalls, type EvaluableCall } from '../../local/iam/evaluate';
import { resolvePackagedIam, type Template } from '../../local/iam/roles';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { buildIamResources, grantNotes, FUNCTION_KEYS } = require('../../deploy/iam.js') as {
  buildIamResources: (ctx: Record<string, unknown>) => Record<string, { Properties: { Policies: { PolicyDocument: { Statement: Statement[] } }[] } }>;
  grantNotes: (ctx: Record<string, unknown>) => Record<string, Record<string, string | Record<string, string>>>;
  FUNCTION_KEYS: string[];
};

interface Statement {
  Sid: string;
  Action: string[];
  Resource: unknown;
  Condition?: Record<string, unknown>;
}

const WAVES = [
  { name: 'dev', clusters: [{ stackName: 'dev-ecs', clusterName: 'dev-cluster', imageParameter: 'ApplicationImageId' }] },
  { name: 'prod', clusters: [{ stackName: 'prod-ecs', clusterName: 'prod-cluster', imageParameter: 'ApplicationImageId' }] },
];
const BASE = {
  service: 'ecs-ami-pipeline',
  stage: 'prod',
  parameterPrefix: '/ecs-ami-pipeline/prod',
  waves: WAVES,
  stackRoleArn: '',
  ebsKmsKeyId: '',
  buildVpcId: '',
  buildSubnetId: '',
  managedByTag: 'ManagedBy',
  managedBy: 'ecs-ami-pipeline',
};

// Actions AWS defines no resource type for (Service Authorization Reference), so "*" is the only scope.
const NO_RESOURCE_TYPE = new Set([
  'ec2:DescribeImages',
  'ec2:DescribeImageAttribute',
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
  'ec2:DescribeLaunchTemplates',
  'ec2:DescribeLaunchTemplateVersions',
  'ec2:DescribeDhcpOptions',
  'ec2:DescribeNetworkInterfaces',
  'ec2:CreateNetworkInterface',
  'ec2:DeleteNetworkInterface',
  'autoscaling:DescribeAutoScalingGroups',
  'autoscaling:DescribeAutoScalingInstances',
  'autoscaling:DescribeScalingActivities',
  'autoscaling:DescribeScheduledActions',
  'autoscaling:DescribeLifecycleHooks',
  'autoscaling:DescribeLaunchConfigurations',
  // X-Ray's trace calls (Step Functions tracing) take no resource.
  'xray:PutTraceSegments',
  'xray:PutTelemetryRecords',
  'xray:GetSamplingRules',
  'xray:GetSamplingTargets',
  'logs:CreateLogDelivery',
  'logs:GetLogDelivery',
  'logs:UpdateLogDelivery',
  'logs:DeleteLogDelivery',
  'logs:ListLogDeliveries',
  'logs:PutResourcePolicy',
  'logs:DescribeResourcePolicies',
  'logs:DescribeLogGroups',
]);

function statements(resources: ReturnType<typeof buildIamResources>) {
  return Object.entries(resources).flatMap(([role, r]) =>
    r.Properties.Policies.flatMap((p) => p.PolicyDocument.Statement.map((s) => ({ role, ...s }))),
  );
}

describe.each([
  ['caller credentials', BASE],
  ['a stack service role, KMS key and build VPC', {
    ...BASE,
    stackRoleArn: 'arn:aws:iam::111122223333:role/cfn-ecs-rollout',
    ebsKmsKeyId: 'arn:aws:kms:us-east-1:111122223333:key/11111111-2222-3333-4444-555555555555',
    buildVpcId: 'vpc-0123456789abcdef0',
    buildSubnetId: 'subnet-0123456789abcdef0',
  }],
])('generated IAM with %s', (_name, ctx) => {
  const all = statements(buildIamResources(ctx));

  it('uses "*" only for actions without a resource type, or under a condition', () => {
    const unjustified = all.filter(
      (s) => s.Resource === '*' && !s.Condition && !s.Action.every((a) => NO_RESOURCE_TYPE.has(a)),
    );
    expect(unjustified.map((s) => `${s.role}/${s.Sid}: ${s.Action.join(',')}`)).toEqual([]);
  });

  it('never grants a service-wide wildcard action', () => {
    expect(all.flatMap((s) => s.Action).filter((a) => /:\*$/.test(a))).toEqual([]);
  });

  it('gives every function its own role that writes only its own logs', () => {
    const resources = buildIamResources(ctx);
    for (const fn of FUNCTION_KEYS) {
      const role = resources[`${fn.charAt(0).toUpperCase()}${fn.slice(1)}Role`];
      const logs = role!.Properties.Policies[0]!.PolicyDocument.Statement.find((s) => s.Sid === 'WriteOwnLogs')!;
      expect(JSON.stringify(logs.Resource)).toContain(`/aws/lambda/ecs-ami-pipeline-prod-${fn}:*`);
    }
  });
});

it('lets Packer stop, terminate and delete only what it tagged as its own', () => {
  const destructive = statements(buildIamResources(BASE)).find((s) => s.role === 'BakeProjectRole' && s.Action.includes('ec2:TerminateInstances'))!;
  expect(destructive.Action).toEqual(expect.arrayContaining(['ec2:DeregisterImage', 'ec2:DeleteSnapshot', 'ec2:DeleteKeyPair', 'ec2:DeleteSecurityGroup']));
  expect(destructive.Condition).toEqual({ StringEquals: { 'aws:ResourceTag/ManagedBy': 'ecs-ami-pipeline' } });
});

it('lets retention deregister, deprecate, delete and terminate only what carries this stage’s tags', () => {
  const RETENTION_CHANGES = [
    'ec2:DeleteKeyPair',
    'ec2:DeleteSecurityGroup',
    'ec2:DeleteSnapshot',
    'ec2:DeregisterImage',
    'ec2:EnableImageDeprecation',
    'ec2:TerminateInstances',
  ];
  const retention = statements(buildIamResources(BASE)).filter((s) => s.role === 'RetainImagesRole');
  const destructive = retention.filter((s) => s.Action.some((a) => /^ec2:(Deregister|Delete|Terminate|EnableImageDeprecation)/.test(a)));
  expect(destructive.flatMap((s) => s.Action).sort()).toEqual(RETENTION_CHANGES);
  for (const s of destructive) {
    expect(s.Condition?.StringEquals).toMatchObject({ 'aws:ResourceTag/ManagedBy': 'ecs-ami-pipeline', 'aws:ResourceTag/PipelineStage': BASE.stage });
    expect(JSON.stringify(s.Resource)).not.toBe('"*"');
  }
  for (const action of ['ec2:TerminateInstances', 'ec2:DeleteSecurityGroup', 'ec2:DeleteKeyPair']) {
    expect(destructive.find((s) => s.Action.includes(action))!.Condition!.StringEquals).toMatchObject({ 'aws:ResourceTag/Purpose': 'ami-bake' });
  }
  // Nothing else of retention's changes anything.
  const changing = retention.flatMap((s) => s.Action).filter((a) => !/:(Describe|Get|List)/.test(a) && !/^(logs|sns|kms):/.test(a));
  expect(changing.sort()).toEqual(RETENTION_CHANGES);
});

it('gives the bake only the part of Packer’s documented minimum this template uses', () => {
  const bake = statements(buildIamResources(BASE)).filter((s) => s.role === 'BakeProjectRole').flatMap((s) => s.Action);
  // amazon-ebs with these options never copies, registers, attaches or shares (see deploy/iam.js).
  for (const unused of ['ec2:CopyImage', 'ec2:RegisterImage', 'ec2:CreateVolume', 'ec2:AttachVolume', 'ec2:DetachVolume', 'ec2:DeleteVolume', 'ec2:CreateSnapshot', 'ec2:GetPasswordData', 'ec2:ModifySnapshotAttribute', 'ec2:ModifyInstanceAttribute', 'ssm:GetParameter', 'kms:Encrypt']) {
    expect(bake).not.toContain(unused);
  }
});

it('without a stack role, lets CloudFormation tag only what a launch from the template creates', () => {
  const tag = statements(buildIamResources(BASE)).find((s) => s.Sid === 'TagWhatTheLaunchTemplateLaunches')!;
  expect(tag.role).toBe('UpdateStackRole');
  expect(tag.Action).toEqual(['ec2:CreateTags']);
  expect(JSON.stringify(tag.Resource)).toMatch(/instance\/\*.*volume\/\*.*network-interface\/\*/);
  expect(tag.Condition).toEqual({ StringEquals: { 'ec2:CreateAction': 'RunInstances' } });
  const withRole = statements(buildIamResources({ ...BASE, stackRoleArn: 'arn:aws:iam::111122223333:role/cfn-ecs-rollout' }));
  expect(withRole.find((s) => s.Sid === 'TagWhatTheLaunchTemplateLaunches')).toBeUndefined();
});

it('keeps each grant’s usedOn note out of the policy and returns it by role and Sid', () => {
  const resources = buildIamResources(BASE);
  expect(JSON.stringify(resources)).not.toContain('usedOn');
  const notes = grantNotes(BASE);
  expect(notes.RunEndedRole?.AlertOps).toMatch(/run that ended without notifying/);
  expect(notes.UpdateStackRole?.RollTheseStacksGroups).toEqual({ 'autoscaling:CreateOrUpdateTags': expect.stringMatching(/CloudFormation-on-behalf/) });
  // A statement without a note has no entry.
  expect(notes.UpdateStackRole?.UpdateConfiguredStacks).toBeUndefined();
});

it('with a stack service role, the update function passes that role and nothing else', () => {
  const ctx = { ...BASE, stackRoleArn: 'arn:aws:iam::111122223333:role/cfn-ecs-rollout' };
  const update = buildIamResources(ctx).UpdateStackRole!.Properties.Policies[0]!.PolicyDocument.Statement;
  expect(update.map((s) => s.Sid)).toEqual(['WriteOwnLogs', 'UpdateConfiguredStacks', 'FindOwnUpdateInStackEvents', 'HoldTheFleetLock', 'PassTheStackServiceRole']);
  expect(update[4]!.Resource).toBe(ctx.stackRoleArn);
});

it('lets each function touch only its own items of the run ledger: the lock, or the notification markers', () => {
  const resources = buildIamResources(BASE);
  const ledger = Object.entries(resources).flatMap(([role, r]) =>
    r.Properties.Policies[0]!.PolicyDocument.Statement.filter((s) => s.Action.some((a) => a.startsWith('dynamodb:'))).map((s) => ({ role, ...s })),
  );
  expect(ledger.length).toBeGreaterThan(0);
  for (const s of ledger) {
    expect(s.Resource).toEqual({ 'Fn::Sub': 'arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/ecs-ami-pipeline-prod-runs' });
    expect(s.Condition).toEqual({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': expect.any(Array) } });
  }
  const keysOf = (role: string) => ledger.filter((s) => s.role === role).flatMap((s) => (s.Condition as any)['ForAllValues:StringLike']['dynamodb:LeadingKeys']);
  expect(keysOf('NotifyRole')).toEqual(['notified#*']);
  expect(keysOf('ReleaseFleetRole')).toEqual(['fleet-lock']);
  expect(keysOf('CheckRequestRole')).toEqual(['fleet-lock']);
  // Only the run-ended function may delete the lock besides release-fleet, and only it reads both kinds.
  const deleters = ledger.filter((s) => s.Action.includes('dynamodb:DeleteItem')).map((s) => s.role).sort();
  expect(deleters).toEqual(['ReleaseFleetRole', 'RunEndedRole']);
});

it('without configured waves, grants no stack or cluster access at all', () => {
  const all = statements(buildIamResources({ ...BASE, waves: [] }));
  expect(all.filter((s) => s.Action.some((a) => a.startsWith('cloudformation:') || a.startsWith('ecs:')))).toEqual([]);
});

/**
 * packer-plugin-amazon 1.8.2 in GovCloud and China (stepCreateAMI's IsRestricted, by region prefix):
 * CreateImage carries no tags, StepModifyAMIAttributes sets ami_description and imds_support, and only
 * then StepCreateTags tags the image and its snapshots. Evaluated with iam-simulate against the bake
 * role as buildIamResources generates it, resolved for each partition.
 */
describe('the bake role in every partition', () => {
  const ACCOUNT = '111122223333';
  const IMAGE = 'ami-0123456789abcdef0';
  const SNAPSHOT = 'snap-0123456789abcdef0';
  const OURS = { ManagedBy: 'ecs-ami-pipeline', PipelineStage: 'prod' };

  async function evaluate(partition: string, region: string, tagsOfImage: Record<string, string> | undefined, calls: Omit<EvaluableCall, 'actor'>[]) {
    const template: Template = {
      Resources: { BakeProjectRole: buildIamResources(BASE).BakeProjectRole as Template['Resources'][string], ServerlessDeploymentBucket: { Type: 'AWS::S3::Bucket' } },
    };
    const iam = resolvePackagedIam(template, { account: ACCOUNT, region, partition, stackName: 'ecs-ami-pipeline-prod' });
    // Every ARN built for the role and the requests carries the partition: nothing says arn:aws: elsewhere.
    expect(JSON.stringify(iam.roles.BakeProjectRole!.policies).match(/arn:[^:"]*/g)!.every((a) => a === `arn:${partition}`)).toBe(true);
    const report = await evaluateCalls(
      calls.map((c) => ({ actor: 'BakeProjectRole', region, ...c })),
      { BakeProjectRole: iam.roles.BakeProjectRole! },
      { account: ACCOUNT, region, partition, resourceTags: (arn) => (arn.endsWith(`image/${IMAGE}`) || arn.endsWith(`snapshot/${SNAPSHOT}`) ? tagsOfImage : undefined) },
    );
    return report.decisions.map((d) => `${d.request.action} ${d.decision}`);
  }

  const setAttributes = [
    { action: 'ec2:ModifyImageAttribute', input: { ImageId: IMAGE, Description: { Value: 'ECS container instance' } } },
    { action: 'ec2:ModifyImageAttribute', input: { ImageId: IMAGE, ImdsSupport: { Value: 'v2.0' } } },
  ];
  const tag = [{ action: 'ec2:CreateTags', input: { Resources: [IMAGE, SNAPSHOT], Tags: [{ Key: 'ManagedBy', Value: 'ecs-ami-pipeline' }] } }];
  const cleanUp = [
    { action: 'ec2:DeregisterImage', input: { ImageId: IMAGE } },
    { action: 'ec2:DeleteSnapshot', input: { SnapshotId: SNAPSHOT } },
  ];

  it.each([
    ['aws-us-gov', 'us-gov-west-1'],
    ['aws-us-gov', 'us-gov-east-1'],
    ['aws-cn', 'cn-north-1'],
    ['aws-cn', 'cn-northwest-1'],
  ])('%s (%s): sets the attributes of the image Packer has not tagged yet, then tags it', async (partition, region) => {
    expect(await evaluate(partition, region, undefined, [...setAttributes, ...tag])).toEqual([
      'ec2:ModifyImageAttribute Allowed',
      'ec2:ModifyImageAttribute Allowed',
      'ec2:CreateTags Allowed',
      'ec2:CreateTags Allowed',
    ]);
  });

  it.each([
    ['aws-us-gov', 'us-gov-west-1'],
    ['aws-cn', 'cn-north-1'],
  ])('%s: still never deregisters or deletes what carries no ManagedBy tag, nor touches another tool’s image', async (partition, region) => {
    expect(await evaluate(partition, region, undefined, cleanUp)).toEqual(['ec2:DeregisterImage ImplicitlyDenied', 'ec2:DeleteSnapshot ImplicitlyDenied']);
    expect(await evaluate(partition, region, { ManagedBy: 'someone-else' }, setAttributes)).toEqual(Array(2).fill('ec2:ModifyImageAttribute ImplicitlyDenied'));
    // Once tagged, the usual ManagedBy statement applies.
    expect(await evaluate(partition, region, OURS, [...setAttributes, ...cleanUp])).toEqual([
      'ec2:ModifyImageAttribute Allowed',
      'ec2:ModifyImageAttribute Allowed',
      'ec2:DeregisterImage Allowed',
      'ec2:DeleteSnapshot Allowed',
    ]);
  });

  it.each([
    ['aws', 'us-east-1'],
    ['aws', 'eu-central-2'],
    ['aws-iso', 'us-iso-east-1'],
    ['aws-iso-b', 'us-isob-east-1'],
    ['aws-eusc', 'eusc-de-east-1'],
  ])('%s (%s): the image is tagged at creation, so an untagged image stays out of reach', async (partition, region) => {
    expect(await evaluate(partition, region, undefined, [...setAttributes, ...cleanUp])).toEqual([
      'ec2:ModifyImageAttribute ImplicitlyDenied',
      'ec2:ModifyImageAttribute ImplicitlyDenied',
      'ec2:DeregisterImage ImplicitlyDenied',
      'ec2:DeleteSnapshot ImplicitlyDenied',
    ]);
    expect(await evaluate(partition, region, OURS, setAttributes)).toEqual(Array(2).fill('ec2:ModifyImageAttribute Allowed'));
  });

  it('scopes the untagged-image grant to ModifyImageAttribute on this region’s images, in the regions the plugin treats so', () => {
    const grant = statements(buildIamResources(BASE)).find((s) => s.Sid === 'PackerSetsItsImageAttributesBeforeTaggingInGovCloudAndChina')!;
    expect(grant).toMatchObject({
      role: 'BakeProjectRole',
      Action: ['ec2:ModifyImageAttribute'],
      Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:ec2:${AWS::Region}::image/*' },
      Condition: { StringLike: { 'aws:RequestedRegion': ['us-gov-*', 'cn-*'] }, Null: { 'aws:ResourceTag/ManagedBy': 'true' } },
    });
  });
});

it('builds every ARN of every generated policy with the deployment’s partition', () => {
  const ctx = { ...BASE, shareWith: { accounts: ['444455556666'], organizationArns: [], organizationalUnitArns: [] } };
  const text = JSON.stringify(buildIamResources(ctx));
  const arns = text.match(/arn:(\$\{AWS::Partition\}|[^:"]*)/g)!;
  expect(arns.length).toBeGreaterThan(20);
  expect([...new Set(arns)]).toEqual(['arn:${AWS::Partition}']);
});

describe('cluster targets in other regions, and copies there', () => {
  const KEY = 'arn:aws:kms:eu-west-1:111122223333:key/66666666-7777-8888-9999-000000000000';
  const ctx = {
    ...BASE,
    region: 'us-east-1',
    waves: [
      WAVES[0]!,
      { name: 'prod', clusters: [{ stackName: 'prod-ecs', clusterName: 'prod-cluster', imageParameter: 'ApplicationImageId' }, { stackName: 'prod-eu', clusterName: 'prod-eu', imageParameter: 'ApplicationImageId', region: 'eu-west-1' }] },
    ],
    copyToRegions: [{ region: 'eu-west-1', kmsKeyId: KEY }],
  };
  const resources = buildIamResources(ctx);
  const of = (role: string, sid: string) => resources[role]!.Properties.Policies[0]!.PolicyDocument.Statement.find((s) => s.Sid === sid)!;
  const text = (value: unknown) => JSON.stringify(value);

  it('reads and rolls a regional stack, its group and its cluster in its own region, the others in the stage\'s', () => {
    const update = text(of('UpdateStackRole', 'UpdateConfiguredStacks').Resource);
    expect(update).toContain('cloudformation:eu-west-1:${AWS::AccountId}:stack/prod-eu/*');
    expect(update).toContain('cloudformation:${AWS::Region}:${AWS::AccountId}:stack/prod-ecs/*');
    expect(text(of('ConfirmRegistrationRole', 'DescribeConfiguredClustersInstances').Resource)).toContain('ecs:eu-west-1:${AWS::AccountId}:container-instance/prod-eu/*');
    const groups = text(of('UpdateStackRole', 'RollTheseStacksGroups').Resource);
    expect(groups).toContain('autoscaling:eu-west-1:');
    expect(groups).toContain('autoscaling:${AWS::Region}:');
  });

  it('copies only to the configured regions, tags only as CopyImage creates, and records ami/latest only there', () => {
    expect(text(of('CopyImageRole', 'CopyTheImageToTheConfiguredRegions').Resource)).toContain('ec2:eu-west-1::image/*');
    expect(of('CopyImageRole', 'TagTheCopiesAsCopyImageCreatesThem').Condition).toEqual({ StringEquals: { 'ec2:CreateAction': 'CopyImage' } });
    expect(of('CopyImageRole', 'EncryptTheCopiesWithTheirRegionsKeys').Resource).toEqual([KEY]);
    const record = text(of('CopyImageRole', 'RecordTheCopiesInTheirRegions').Resource);
    expect(record).toContain('ssm:eu-west-1:${AWS::AccountId}:parameter/ecs-ami-pipeline/prod/ami/latest');
    expect(record).not.toContain('${AWS::Region}');
    // Without copyToRegions the role may only write its logs.
    const plain = buildIamResources(BASE).CopyImageRole!.Properties.Policies[0]!.PolicyDocument.Statement;
    expect(plain.map((s) => s.Sid)).toEqual(['WriteOwnLogs']);
  });
});
