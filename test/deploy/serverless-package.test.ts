/**
 * `serverless package` (osls, offline, no credentials) for a stage with default params and for a
 * fully configured one, held to the contracts the functions, the state machine and the buildspec
 * rely on. `make lint-cfn` lints both packaged templates with cfn-lint
 * (scripts/check-pipeline-template.sh), in one process beside the other linters.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { BUILD_OVERRIDES, BUILD_PROJECT_ENV, LAMBDA_ENV, RUN_LEDGER, type PipelineConfig } from '../../functions/lib/contracts';

const ROOT = path.join(__dirname, '..', '..');
// Packaged once per change of their inputs, and shared with the IAM evaluation and the proactive
// controls (deploy/packaged-stages.js): `default` is stage ci with every param at its default,
// `configured` is stage demo with the demo's stacks and every optional param set.
const { packagedStage } = require('../../deploy/packaged-stages') as {
  packagedStage: (name: 'default' | 'configured') => string;
};

interface Template {
  Resources: Record<string, { Type: string; Properties: any; Condition?: string }>;
}

function packaged(name: 'default' | 'configured'): { template: Template; dir: string } {
  const dir = packagedStage(name);
  return { dir, template: JSON.parse(readFileSync(path.join(dir, 'cloudformation-template-update-stack.json'), 'utf8')) as Template };
}

let plain: { template: Template; dir: string };
let configured: { template: Template; dir: string };

beforeAll(() => {
  plain = packaged('default');
  configured = packaged('configured');
}, 120_000);


function resourcesOfType(template: Template, type: string) {
  return Object.entries(template.Resources).filter(([, r]) => r.Type === type);
}

describe.each([
  ['default params', () => plain],
  ['a configured stage', () => configured],
])('the packaged template with %s', (_name, packaged) => {
  it('runs every function on nodejs24.x with its own role', () => {
    const functions = resourcesOfType(packaged().template, 'AWS::Lambda::Function');
    expect(functions).toHaveLength(16);
    const roles = new Set<string>();
    for (const [, fn] of functions) {
      expect(fn.Properties.Runtime).toBe('nodejs24.x');
      roles.add(JSON.stringify(fn.Properties.Role));
    }
    expect(roles.size).toBe(16);
  });

  it('fills every placeholder of the state machine definition', () => {
    const [, machine] = resourcesOfType(packaged().template, 'AWS::StepFunctions::StateMachine')[0]!;
    const placeholders = new Set([...(machine.Properties.DefinitionString as string).matchAll(/\$\{([A-Za-z0-9]+)\}/g)].map((m) => m[1]));
    expect([...placeholders].sort()).toEqual(Object.keys(machine.Properties.DefinitionSubstitutions).sort());
  });

  it('gives the CodeBuild project every variable the buildspec reads', () => {
    const [, project] = resourcesOfType(packaged().template, 'AWS::CodeBuild::Project')[0]!;
    const names = (project.Properties.Environment.EnvironmentVariables as { Name: string }[]).map((v) => v.Name);
    expect(names).toEqual(expect.arrayContaining([...Object.values(BUILD_PROJECT_ENV), ...Object.values(BUILD_OVERRIDES)]));
    expect(project.Properties.Source.BuildSpec).toBe('buildspec/bake-ami.yml');
    expect(existsSync(path.join(ROOT, project.Properties.Source.BuildSpec))).toBe(true);
    const sha = names.includes('PACKER_ASSETS_SHA256')
      ? (project.Properties.Environment.EnvironmentVariables as { Name: string; Value: string }[]).find((v) => v.Name === 'PACKER_ASSETS_SHA256')!.Value
      : '';
    expect(sha).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(project.Properties.Source.Location)).toContain(`packer-assets/${sha}.zip`);
    // buildInstanceType left empty: the default of the x86_64 base.
    const value = (name: string) => (project.Properties.Environment.EnvironmentVariables as { Name: string; Value: string }[]).find((v) => v.Name === name)?.Value;
    expect(value('BUILD_INSTANCE_TYPE')).toBe('t3.medium');
    expect(value('OS_RELEASE_VERSION')).toBe('latest');
  });

  it('writes the Packer assets zip next to the function artifacts, with the digest the template names', () => {
    expect(existsSync(path.join(packaged().dir, 'packer-assets.zip'))).toBe(true);
    const digest = readFileSync(path.join(packaged().dir, 'packer-assets.sha256'), 'utf8').trim();
    const [, project] = resourcesOfType(packaged().template, 'AWS::CodeBuild::Project')[0]!;
    expect(JSON.stringify(project.Properties.Source.Location)).toContain(`packer-assets/${digest}.zip`);
  });
});

describe('a configured stage', () => {
  const fn = (key: string) => configured.template.Resources[`${key}LambdaFunction`]!.Properties;

  it('passes the validated waves to the request check as JSON', () => {
    const waves = JSON.parse(fn('CheckRequest').Environment.Variables[LAMBDA_ENV.clusterWaves]);
    expect(waves[1].clusters[0]).toEqual({ stackName: 'ecs-prod', clusterName: 'ecs-prod', imageParameter: 'ImageId' });
    expect(waves[0].clusters[0].imageParameter).toBe('ApplicationImageId');
  });

  it('scopes CloudFormation and ECS permissions to the configured stacks and clusters', () => {
    const policy = JSON.stringify(configured.template.Resources.UpdateStackRole!.Properties.Policies);
    expect(policy).toContain(':stack/ecs-dev/*');
    expect(policy).toContain(':stack/ecs-prod/*');
    const confirm = JSON.stringify(configured.template.Resources.ConfirmRegistrationRole!.Properties.Policies);
    expect(confirm).toContain(':container-instance/ecs-prod/*');
  });

  it('adds the e-mail subscription and the build network only when configured', () => {
    expect(configured.template.Resources.OpsEmailSubscription?.Properties.Endpoint).toBe('ops@example.com');
    expect(configured.template.Resources.BuildSecurityGroup).toBeDefined();
    expect(plain.template.Resources.OpsEmailSubscription).toBeUndefined();
    expect(plain.template.Resources.BuildSecurityGroup).toBeUndefined();
    const project = resourcesOfType(configured.template, 'AWS::CodeBuild::Project')[0]![1];
    expect(project.Properties.VpcConfig.Subnets).toEqual(['subnet-0123456789abcdef0']);
  });

  it('shares the images only when asked, with the share role scoped to the stage’s tagged images and snapshots', () => {
    expect(JSON.parse(fn('RecordBakedAmi').Environment.Variables[LAMBDA_ENV.shareWith])).toEqual({
      accounts: ['111122223333'],
      organizationArns: [],
      organizationalUnitArns: ['arn:aws:organizations::111122223333:ou/o-abcdefghij/ou-abcd-efghijkl'],
    });
    const statements = configured.template.Resources.RecordBakedAmiRole!.Properties.Policies[0].PolicyDocument.Statement as { Sid: string; Action: string[]; Condition?: unknown }[];
    const share = statements.filter((s) => /Share|Copy/.test(s.Sid));
    expect(share.map((s) => s.Action).flat().sort()).toEqual(['ec2:ModifyImageAttribute', 'ec2:ModifySnapshotAttribute']);
    for (const s of share) expect(s.Condition).toEqual({ StringEquals: { 'aws:ResourceTag/ManagedBy': 'ecs-ami-pipeline', 'aws:ResourceTag/PipelineStage': 'demo' } });
    const plainStatements = plain.template.Resources.RecordBakedAmiRole!.Properties.Policies[0].PolicyDocument.Statement as { Action: string[] }[];
    expect(plainStatements.flatMap((s) => s.Action).filter((a) => a.startsWith('ec2:Modify'))).toEqual([]);
  });

  it('lets the soak read only the configured alarms and the soaking clusters\' services, and the approval write only approval items', () => {
    const statements = (role: string) =>
      configured.template.Resources[role]!.Properties.Policies[0].PolicyDocument.Statement as { Sid: string; Action: string[]; Resource: unknown; Condition?: any }[];
    const soak = statements('CheckSoakRole');
    const alarms = soak.find((s) => s.Action.includes('cloudwatch:DescribeAlarms'))!;
    expect(JSON.stringify(alarms.Resource)).toContain(':alarm:ecs-dev-errors');
    const list = soak.find((s) => s.Action.includes('ecs:ListServices'))!;
    expect(JSON.stringify(list.Condition)).toContain(':cluster/ecs-dev');
    expect(JSON.stringify(list.Condition)).not.toContain('ecs-prod');
    const approval = statements('RequestApprovalRole').find((s) => s.Action.includes('dynamodb:PutItem'))!;
    expect(approval.Condition).toEqual({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['approval#*'] } });
    // A stage without soaks grants the soak nothing beyond its logs.
    const plainSoak = plain.template.Resources.CheckSoakRole!.Properties.Policies[0].PolicyDocument.Statement as { Action: string[] }[];
    expect(plainSoak.flatMap((s) => s.Action)).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
    expect(fn('CheckRequest').Environment.Variables[LAMBDA_ENV.approvalTimeoutHours]).toBe('24');
  });

  it('packages the demo\'s gates as local/gates.ts runs them', () => {
    const { DEMO_WAVES } = require('../../deploy/packaged-stages') as { DEMO_WAVES: { soak?: unknown; requireApproval?: boolean }[] };
    const { DEMO_DEV_SOAK, DEMO_PROD_REQUIRES_APPROVAL } = require('../../local/gates') as typeof import('../../local/gates');
    expect(DEMO_WAVES[0]!.soak).toEqual(DEMO_DEV_SOAK);
    expect(DEMO_WAVES[1]!.requireApproval).toBe(DEMO_PROD_REQUIRES_APPROVAL);
  });

  it('turns the chat form of the messages on, and retention to report, only when asked', () => {
    expect(fn('Notify').Environment.Variables[LAMBDA_ENV.chatNotifications]).toBe('true');
    expect(fn('RetainImages').Environment.Variables[LAMBDA_ENV.imageRetention]).toBe('report');
    const plainFn = (key: string) => plain.template.Resources[`${key}LambdaFunction`]!.Properties;
    expect(plainFn('Notify').Environment.Variables[LAMBDA_ENV.chatNotifications]).toBe('false');
    expect(plainFn('RetainImages').Environment.Variables[LAMBDA_ENV.imageRetention]).toBe('delete');
  });
});

describe('the guarantees\' resources', () => {
  it('keeps the run ledger (fleet lock, notification markers) in a protected table with expiring markers', () => {
    const table = plain.template.Resources.RunLedgerTable!;
    expect(table.Type).toBe('AWS::DynamoDB::Table');
    expect(table.Properties).toMatchObject({
      TableName: 'ecs-ami-pipeline-ci-runs',
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: RUN_LEDGER.key, KeyType: 'HASH' }],
      TimeToLiveSpecification: { AttributeName: RUN_LEDGER.expiresAt, Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: true,
    });
  });

  it('sends every end of a run (FAILED included) to the run-ended function, which EventBridge may invoke', () => {
    const rule = plain.template.Resources.ExecutionEndedAbnormallyRule!;
    expect(rule.Properties.EventPattern.detail.status).toEqual(['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED']);
    expect(rule.Properties.Targets).toEqual([expect.objectContaining({ Arn: { 'Fn::GetAtt': ['RunEndedLambdaFunction', 'Arn'] } })]);
    const permission = plain.template.Resources.RunEndedInvokedByTheRule!;
    expect(permission.Properties).toMatchObject({ Principal: 'events.amazonaws.com', SourceArn: { 'Fn::GetAtt': ['ExecutionEndedAbnormallyRule', 'Arn'] } });
  });

  it('runs each cluster of a wave as a child execution (Distributed Map), which the state machine role may start and follow', () => {
    const definition = JSON.parse(plain.template.Resources.PipelineStateMachine!.Properties.DefinitionString) as { States: Record<string, any> };
    expect(definition.States["Roll the wave's clusters"].ItemProcessor.ProcessorConfig).toEqual({ Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' });
    const statements = plain.template.Resources.StateMachineRole!.Properties.Policies[0].PolicyDocument.Statement as { Sid: string; Action: string[] }[];
    expect(statements.find((s) => s.Sid === 'RunEachClusterAsAChildExecution')?.Action).toEqual(['states:StartExecution']);
    expect(statements.find((s) => s.Sid === 'FollowTheChildExecutions')?.Action).toEqual(['states:DescribeExecution', 'states:StopExecution']);
  });
});

describe('the config parameter tools read', () => {
  it('becomes the PipelineConfig JSON once CloudFormation substitutes it', () => {
    const { Name, Value } = configured.template.Resources.PipelineConfigParameter!.Properties;
    expect(Name).toBe('/ecs-ami-pipeline/demo/config');
    const [text, vars] = Value['Fn::Sub'] as [string, Record<string, string>];
    const fake: Record<string, string> = {
      'AWS::Region': 'eu-west-1',
      PipelineStateMachine: 'arn:aws:states:eu-west-1:111122223333:stateMachine:ecs-ami-pipeline-demo',
      NotificationsTopic: 'arn:aws:sns:eu-west-1:111122223333:ecs-ami-pipeline-demo-ops',
      BakeProject: 'ecs-ami-pipeline-demo-bake',
      RunLedgerTable: 'ecs-ami-pipeline-demo-runs',
      ...vars,
    };
    const config = JSON.parse(text.replace(/\$\{([^}]+)\}/g, (_m, name: string) => fake[name] ?? `UNRESOLVED ${name}`)) as PipelineConfig;
    expect(config).toEqual({
      service: 'ecs-ami-pipeline',
      stage: 'demo',
      region: 'eu-west-1',
      stateMachineArn: fake.PipelineStateMachine,
      topicArn: fake.NotificationsTopic,
      bakeProjectName: 'ecs-ami-pipeline-demo-bake',
      baseAmiArchitecture: 'x86_64',
      runLedgerTable: 'ecs-ami-pipeline-demo-runs',
      baseAmiMaxAttempts: 3,
      waves: [
        {
          name: 'dev',
          clusters: [{ stackName: 'ecs-dev', clusterName: 'ecs-dev', imageParameter: 'ApplicationImageId' }],
          soak: { minutes: 2, alarms: ['ecs-dev-errors'], checkServices: true, checkEverySeconds: 30 },
        },
        {
          name: 'prod',
          clusters: [
            { stackName: 'ecs-prod', clusterName: 'ecs-prod', imageParameter: 'ImageId' },
            { stackName: 'ecs-prod-eu', clusterName: 'ecs-prod-eu', imageParameter: 'ApplicationImageId', region: 'eu-west-1' },
            { stackName: 'ecs-prod-arm', clusterName: 'ecs-prod-arm', imageParameter: 'ApplicationImageId', architecture: 'arm64' },
          ],
          requireApproval: true,
        },
      ],
      amiNamePrefix: 'ecs-ami-pipeline-demo',
      // The configured stage sets imageRetention=report.
      retention: { mode: 'report', keepPromoted: 3, graceDays: 7, bakeLeftoverHours: 4 },
      copyToRegions: [{ region: 'eu-west-1', kmsKeyId: 'arn:aws:kms:eu-west-1:111122223333:key/66666666-7777-8888-9999-000000000000' }],
    });
  });
});

describe('bad configuration fails the packaging with the param named', () => {
  // Through `make package` (scripts/package.sh, osls itself), for one resolver file each: the person
  // packaging reads exactly one line per bad param, naming it, and nothing else.
  it.each([
    [['waves=[{"name":"dev","clusters":[]}]'], 'error: serverless.yml params.ci.waves: the configured waves are invalid: waves[0].clusters: a wave needs at least one cluster'],
    [['opsEmail=not-an-address', 'maxRolloutMinutes=5'], [
      'error: serverless.yml params.ci.maxRolloutMinutes must be a whole number from 10 to 1440 (the state machine\'s Retry budgets for a busy or updating stack cover at most a day); got "5"',
      'error: serverless.yml params.ci.opsEmail "not-an-address" is not an e-mail address',
    ].join('\n')],
  ])('%j', (params, expected) => {
    const result = spawnSync(path.join(ROOT, 'scripts', 'package.sh'), ['ci', ...params.map((p) => `--param=${p}`)], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(result.status).not.toBe(0);
    expect(result.stderr.trim()).toBe(expected);
    expect(result.stdout).toBe('');
  }, 60_000);

  // The resolvers osls calls (deploy/settings.js, deploy/optional.js), with osls's resolveVariable.
  const settings = require('../../deploy/settings') as Record<string, (a: { resolveVariable: (v: string) => Promise<unknown> }) => Promise<unknown>>;
  const optional = require('../../deploy/optional') as typeof settings;
  const DEFAULTS: Record<string, unknown> = { baseAmiArchitecture: 'x86_64', buildInstanceType: '', waves: [], registrationTimeoutSeconds: 900, maxRolloutMinutes: 240, baseAmiMaxAttempts: 3, buildVpcId: '', buildSubnetId: '', opsEmail: '' };
  const resolving = (params: Record<string, unknown>) => ({
    resolveVariable: async (name: string) => ({ ...DEFAULTS, ...params })[name.replace(/^param:/, '')],
  });
  it.each([
    ['waves', settings.wavesJson, { waves: [{ name: 'big', clusters: Array.from({ length: 51 }, (_, i) => ({ stackName: `s${i}`, clusterName: `c${i}` })) }] }, 'at most 50 clusters'],
    ['waves', settings.wavesJson, { waves: Array.from({ length: 5 }, (_, w) => ({ name: `w${w}`, clusters: Array.from({ length: 41 }, (_, i) => ({ stackName: `s${w}-${i}`, clusterName: `c${w}-${i}` })) })) }, 'a stage rolls at most 200'],
    ['buildVpcId', optional.bakeVpcConfig, { buildVpcId: 'vpc-0123456789abcdef0' }, 'buildSubnetId'],
    ['registrationTimeoutSeconds', settings.registrationTimeoutSeconds, { registrationTimeoutSeconds: 99999 }, 'registrationTimeoutSeconds'],
    ['maxRolloutMinutes', settings.maxRolloutMinutes, { maxRolloutMinutes: 5 }, 'maxRolloutMinutes'],
    ['maxRolloutMinutes', settings.maxRolloutMinutes, { maxRolloutMinutes: 2000 }, 'maxRolloutMinutes'],
    ['baseAmiMaxAttempts', settings.baseAmiMaxAttempts, { baseAmiMaxAttempts: 0 }, 'baseAmiMaxAttempts'],
    // An alias or a key id packaged fine and gave the bake role a KMS policy that never matches the key.
    ['ebsKmsKeyId', settings.ebsKmsKeyId, { ebsKmsKeyId: 'alias/ecs-ami' }, /ebsKmsKeyId must be the full ARN of a KMS key.*\(an alias\)/],
    ['ebsKmsKeyId', settings.ebsKmsKeyId, { ebsKmsKeyId: `arn:aws:kms:us-east-1:111122223333:alias/ecs-ami` }, /ebsKmsKeyId .*\(an alias\)/],
    ['ebsKmsKeyId', settings.ebsKmsKeyId, { ebsKmsKeyId: '11111111-2222-3333-4444-555555555555' }, /ebsKmsKeyId .*\(a bare key id\)/],
    ['ebsKmsKeyId', settings.ebsKmsKeyId, { ebsKmsKeyId: 'arn:aws:kms:us-east-1:111122223333:key/not-a-key-id' }, /ebsKmsKeyId .*not a KMS key ARN/],
    [
      'ebsKmsKeyId',
      settings.ebsKmsKeyId,
      { ebsKmsKeyId: 'arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555', 'self:provider.region': 'us-east-1' },
      /ebsKmsKeyId names a key in eu-west-1, but the stage deploys to us-east-1/,
    ],
    // An arm64 base on the x86 default packaged fine and failed at the first bake in CodeBuild.
    ['buildInstanceType', settings.buildInstanceType, { baseAmiArchitecture: 'arm64', buildInstanceType: 't3.medium' }, /params\.<stage>\.buildInstanceType: t3\.medium runs x86_64, but baseAmiArchitecture is arm64/],
    ['buildInstanceType', settings.buildInstanceType, { buildInstanceType: 'c7g.large' }, /c7g\.large runs arm64, but baseAmiArchitecture is x86_64/],
    ['buildInstanceType', settings.buildInstanceType, { buildInstanceType: 'big' }, /"big" is not an EC2 instance type/],
    ['baseAmiArchitecture', settings.buildInstanceType, { baseAmiArchitecture: 'aarch64' }, /baseAmiArchitecture must be x86_64 or arm64; got "aarch64"/],
    ['osReleaseVersion', settings.osReleaseVersion, { osReleaseVersion: '2023.9' }, /osReleaseVersion must be latest or an Amazon Linux 2023 release such as 2023\.9\.20251110 \(dnf --releasever\); got "2023\.9"/],
    ['osReleaseVersion', settings.osReleaseVersion, { osReleaseVersion: 'latest; rm -rf /' }, /osReleaseVersion must be latest/],
    // Retention: fewer than 2 kept leaves a rollback nothing; a grace under a day can race a bake.
    ['retainPromotedImages', settings.retainPromotedImages, { retainPromotedImages: 1 }, /retainPromotedImages must be a whole number from 2 to 50 .*fewer than 2 leaves a rollback nothing/],
    ['retentionGraceDays', settings.retentionGraceDays, { retentionGraceDays: 0 }, /retentionGraceDays must be a whole number from 1 to 365/],
    ['retentionGraceDays', settings.retentionGraceDays, { retentionGraceDays: 2.5 }, /retentionGraceDays must be a whole number/],
    ['bakeLeftoverHours', settings.bakeLeftoverHours, { bakeLeftoverHours: 2 }, /bakeLeftoverHours must be a whole number from 3 to 168 .*a bake lives at most 3 hours/],
    ['imageRetention', settings.imageRetention, { imageRetention: 'sometimes' }, /imageRetention must be delete or report .*got "sometimes"/],
    ['chatNotifications', settings.chatNotifications, { chatNotifications: 'yes' }, /chatNotifications must be true or false; got "yes"/],
    // An encrypted image shared under the AWS managed key packaged fine and could never be launched by the accounts.
    ['shareWith', settings.shareWithJson, { shareWith: ['210987654321'] }, /params\.<stage>\.shareWith: sharing needs ebsKmsKeyId/],
    ['shareWith', settings.shareWithJson, { shareWith: ['prod-account'], ebsKmsKeyId: 'arn:aws:kms:us-east-1:111122223333:key/11111111-2222-3333-4444-555555555555', 'self:provider.region': 'us-east-1' }, /shareWith: \[0\] "prod-account" is not a 12-digit account id/],
    // Three approvals of 72 hours and a day's rollout bound per wave would outlive the run's 7 days.
    [
      'approvalTimeoutHours',
      settings.approvalTimeoutHours,
      { approvalTimeoutHours: 72, waves: ['a', 'b', 'c'].map((name) => ({ name, clusters: [{ stackName: `${name}-ecs`, clusterName: name }], requireApproval: true })) },
      /approvalTimeoutHours: with 3 approval\(s\) of 72 h, maxRolloutMinutes 240 per wave and the waves' soaks, a run could take 231 h, past the 168 h a run may live/,
    ],
    ['copyToRegions', settings.copyToRegionsJson, { copyToRegions: ['us-east-1'], 'self:provider.region': 'us-east-1' }, /copyToRegions: \[0\]\.region us-east-1 is the stage's own region/],
    [
      'waves',
      settings.copyToRegionsJson,
      { waves: [{ name: 'prod', clusters: [{ stackName: 'prod-eu', clusterName: 'prod-eu', region: 'eu-west-1' }] }], 'self:provider.region': 'us-east-1' },
      /waves: waves\[0\]\.clusters\[0\] \(prod-eu\) is in eu-west-1, which copyToRegions does not name: add eu-west-1 to copyToRegions/,
    ],
    // The IAM resolver reads the same param through the same check (deploy/iam.js).
    ['ebsKmsKeyId', (require('../../deploy/iam') as typeof settings).resources, { ebsKmsKeyId: 'alias/ecs-ami' }, /ebsKmsKeyId .*\(an alias\)/],
  ])('a bad %s names the problem: %#', async (_param, resolver, params, named) => {
    await expect(resolver!(resolving(params))).rejects.toThrow(named);
  });

  it.each([
    [false, 'false'],
    ['false', 'false'],
    [undefined, 'false'],
    [true, 'true'],
    ['true', 'true'],
  ])('chatNotifications %j becomes %s', async (chatNotifications, expected) => {
    await expect(settings.chatNotifications!(resolving({ chatNotifications }))).resolves.toBe(expected);
  });

  it('accepts the retention defaults as serverless.yml sets them', async () => {
    const defaults = { imageRetention: 'delete', retainPromotedImages: 3, retentionGraceDays: 7, bakeLeftoverHours: 4 };
    await expect(settings.imageRetention!(resolving(defaults))).resolves.toBe('delete');
    await expect(settings.retainPromotedImages!(resolving(defaults))).resolves.toBe('3');
    await expect(settings.retentionGraceDays!(resolving(defaults))).resolves.toBe('7');
    await expect(settings.bakeLeftoverHours!(resolving(defaults))).resolves.toBe('4');
    await expect(settings.imageRetention!(resolving({ imageRetention: 'report' }))).resolves.toBe('report');
  });

  it.each([
    [undefined, 'latest'],
    ['', 'latest'],
    ['latest', 'latest'],
    ['2023.9.20251110', '2023.9.20251110'],
  ])('osReleaseVersion %j becomes %s', async (osReleaseVersion, expected) => {
    await expect(settings.osReleaseVersion!(resolving({ osReleaseVersion }))).resolves.toBe(expected);
  });

  it.each([
    ['x86_64', '', 't3.medium'],
    ['arm64', '', 't4g.medium'],
    ['arm64', 'c7g.xlarge', 'c7g.xlarge'],
    ['x86_64', 'm6i.large', 'm6i.large'],
  ])('the build instance for %s with buildInstanceType %j is %s', async (baseAmiArchitecture, buildInstanceType, expected) => {
    await expect(settings.buildInstanceType!(resolving({ baseAmiArchitecture, buildInstanceType }))).resolves.toBe(expected);
  });

  it.each([
    ['', ''],
    ['arn:aws:kms:us-east-1:111122223333:key/11111111-2222-3333-4444-555555555555', 'arn:aws:kms:us-east-1:111122223333:key/11111111-2222-3333-4444-555555555555'],
    ['arn:aws:kms:us-east-1:111122223333:key/mrk-0123456789abcdef0123456789abcdef', 'arn:aws:kms:us-east-1:111122223333:key/mrk-0123456789abcdef0123456789abcdef'],
  ])('ebsKmsKeyId %j in the deployment region is taken as it is', async (value, expected) => {
    await expect(settings.ebsKmsKeyId!(resolving({ ebsKmsKeyId: value, 'self:provider.region': 'us-east-1' }))).resolves.toBe(expected);
  });

  // The key's region is checked with the contracts' AWS_REGION_PATTERN, so every partition's regions pass.
  it.each([
    ['aws-us-gov', 'us-gov-west-1'],
    ['aws-cn', 'cn-northwest-1'],
    ['aws-iso-b', 'us-isob-east-1'],
    ['aws-eusc', 'eusc-de-east-1'],
  ])('ebsKmsKeyId of partition %s in %s is taken as it is', async (partition, region) => {
    const key = `arn:${partition}:kms:${region}:111122223333:key/11111111-2222-3333-4444-555555555555`;
    await expect(settings.ebsKmsKeyId!(resolving({ ebsKmsKeyId: key, 'self:provider.region': region }))).resolves.toBe(key);
  });

  it('refuses an ebsKmsKeyId whose region is not a region name', async () => {
    const key = 'arn:aws:kms:us-east:111122223333:key/11111111-2222-3333-4444-555555555555';
    await expect(settings.ebsKmsKeyId!(resolving({ ebsKmsKeyId: key }))).rejects.toThrow(/ebsKmsKeyId .*not a KMS key ARN/);
  });
});
