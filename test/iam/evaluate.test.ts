/**
 * Evaluating calls against roles with iam-simulate: allowed calls, denials that name the function,
 * action and resource, condition keys (iam:PassedToService, aws:ResourceTag/...), permissions a
 * service exercises on the caller's behalf, and grants no call used.
 */
import { assertAllAllowed, evaluateCalls, formatUnusedGrants, LAMBDA_RUNTIME_ACTIONS, unusedGrants, type EvaluableCall, type RoleLike } from '../../local/iam/evaluate';
import type { PolicyDocument, PolicyStatement } from '../../local/iam/roles';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const A = '111122223333';
const R = 'us-east-1';
const PARAM = (name: string) => `arn:aws:ssm:${R}:${A}:parameter/${name}`;
const TOPIC = `arn:aws:sns:${R}:${A}:ops`;
const KEY = `arn:aws:kms:${R}:${A}:key/0f0e0d0c-0b0a-0908-0706-050403020100`;
const DEPLOYER = `arn:aws:iam::${A}:role/ecs-stack-deployer`;

function role(name: string, statements: PolicyStatement[]): RoleLike {
  return { arn: `arn:aws:iam::${A}:role/${name}`, roleName: name, policies: [{ name, document: { Version: '2012-10-17', Statement: statements } }] };
}
const allow = (Sid: string, Action: string | string[], Resource: string | string[], Condition?: PolicyStatement['Condition']): PolicyStatement => ({
  Sid,
  Effect: 'Allow',
  Action,
  Resource,
  ...(Condition ? { Condition } : {}),
});

const logs = (fn: string) => allow('WriteOwnLogs', ['logs:CreateLogStream', 'logs:PutLogEvents'], `arn:aws:logs:${R}:${A}:log-group:/aws/lambda/svc-${fn}:*`);

const ROLES: Record<string, RoleLike> = {
  checkRequest: role('check-request', [
    logs('checkRequest'),
    allow('ReadPipelineParameters', ['ssm:GetParameter', 'ssm:GetParameterHistory'], PARAM('svc/ci/*')),
    allow('ReadRecommendedBaseAmi', 'ssm:GetParameter', `arn:aws:ssm:${R}::parameter/aws/service/ecs/optimized-ami/amazon-linux-2023/*`),
  ]),
  promoteAmi: role('promote-ami', [
    logs('promoteAmi'),
    allow('DescribeImagesHasNoResourceType', 'ec2:DescribeImages', '*'),
    allow('WriteCurrentAmi', 'ssm:PutParameter', [PARAM('svc/ci/ami/current'), PARAM('svc/ci/ami/current/record')]),
  ]),
  updateStack: role('update-stack', [
    allow('UpdateConfiguredStacks', ['cloudformation:DescribeStacks', 'cloudformation:UpdateStack'], `arn:aws:cloudformation:${R}:${A}:stack/dev-ecs/*`),
    allow('PassTheStackServiceRole', 'iam:PassRole', DEPLOYER, { StringEquals: { 'iam:PassedToService': 'cloudformation.amazonaws.com' } }),
  ]),
  confirmRegistration: role('confirm-registration', [
    allow('ListTeamClusters', 'ecs:ListContainerInstances', `arn:aws:ecs:${R}:${A}:cluster/*`, { StringEquals: { 'aws:ResourceTag/team': 'platform' } }),
  ]),
  notify: role('notify', [allow('PublishToOps', 'sns:Publish', TOPIC), allow('UseTheTopicKey', ['kms:GenerateDataKey*', 'kms:Decrypt'], KEY)]),
};

const OPTIONS = {
  account: A,
  region: R,
  topicKeys: { [TOPIC]: KEY },
  resourceTags: (arn: string) => (arn.endsWith(':cluster/platform-cluster') ? { team: 'platform' } : { team: 'data' }),
};

const call = (actor: string | undefined, action: string, input: Record<string, unknown>): EvaluableCall => ({ actor, action, input, region: R });

const without = (roles: Record<string, RoleLike>, actor: string, sid: string): Record<string, RoleLike> => ({
  ...roles,
  [actor]: { ...roles[actor]!, policies: roles[actor]!.policies.map((p) => ({ ...p, document: { ...p.document, Statement: p.document.Statement.filter((s) => s.Sid !== sid) } })) },
});

describe('evaluating calls', () => {
  it('allows calls the role grants, including AWS-owned resources and work SSM does with the caller’s permissions', async () => {
    const report = await evaluateCalls(
      [
        call('checkRequest', 'ssm:GetParameter', { Name: '/svc/ci/ami/current' }),
        call('checkRequest', 'ssm:GetParameter', { Name: '/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended' }),
        call('promoteAmi', 'ssm:PutParameter', { Name: '/svc/ci/ami/current', Value: 'ami-1', Type: 'String', DataType: 'aws:ec2:image', Overwrite: true }),
        call('checkRequest', 'sts:GetCallerIdentity', {}),
      ],
      ROLES,
      OPTIONS,
    );
    expect(report.summary()).toBe('');
    expect(report.ok).toBe(true);
    expect(report.decisions.map((d) => [d.actor, d.request.action, d.decision])).toEqual([
      ['checkRequest', 'ssm:GetParameter', 'Allowed'],
      ['checkRequest', 'ssm:GetParameter', 'Allowed'],
      ['promoteAmi', 'ssm:PutParameter', 'Allowed'],
      ['promoteAmi', 'ec2:DescribeImages', 'Allowed'],
      ['checkRequest', 'sts:GetCallerIdentity', 'Allowed'],
    ]);
    expect(() => assertAllAllowed(report)).not.toThrow();
  });

  it('denies when the needed grant is removed, naming the function, action and resource', async () => {
    const calls = [call('promoteAmi', 'ssm:PutParameter', { Name: '/svc/ci/ami/current', Value: 'ami-1', Type: 'String', DataType: 'aws:ec2:image', Overwrite: true })];
    const report = await evaluateCalls(calls, without(ROLES, 'promoteAmi', 'DescribeImagesHasNoResourceType'), OPTIONS);
    expect(report.ok).toBe(false);
    expect(report.denials).toHaveLength(1);
    expect(report.denials[0]).toMatchObject({ actor: 'promoteAmi', decision: 'ImplicitlyDenied', request: { action: 'ec2:DescribeImages', resource: '*', via: 'ssm.amazonaws.com' } });
    expect(report.summary()).toContain('ImplicitlyDenied: promoteAmi -> ec2:DescribeImages on * (made by ssm.amazonaws.com');
    expect(report.summary()).toContain('no statement in the role grants ec2:DescribeImages');
    expect(() => assertAllAllowed(report)).toThrow(/promoteAmi -> ec2:DescribeImages on \*/);
  });

  it('denies an AWS-owned public parameter once its grant is removed', async () => {
    const calls = [call('checkRequest', 'ssm:GetParameter', { Name: '/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended' })];
    const report = await evaluateCalls(calls, without(ROLES, 'checkRequest', 'ReadRecommendedBaseAmi'), OPTIONS);
    expect(report.summary()).toContain(`checkRequest -> ssm:GetParameter on arn:aws:ssm:${R}::parameter/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended`);
    expect(report.summary()).toContain('statement ReadPipelineParameters grants ssm:GetParameter: resource does not match');
  });

  it('denies a resource outside the grant and says which statement did not match', async () => {
    const report = await evaluateCalls([call('promoteAmi', 'ssm:PutParameter', { Name: '/svc/ci/ami/latest', Value: 'ami-1', Type: 'String' })], ROLES, OPTIONS);
    expect(report.summary()).toContain(`promoteAmi -> ssm:PutParameter on ${PARAM('svc/ci/ami/latest')}`);
    expect(report.summary()).toMatch(/statement WriteCurrentAmi grants ssm:PutParameter: resource does not match/);
  });

  it('evaluates iam:PassedToService (StringEquals) for UpdateStack with a service role', async () => {
    const calls = [call('updateStack', 'cloudformation:UpdateStack', { StackName: 'dev-ecs', UsePreviousTemplate: true, RoleARN: DEPLOYER })];
    const allowed = await evaluateCalls(calls, ROLES, OPTIONS);
    expect(allowed.decisions.map((d) => [d.request.action, d.decision])).toEqual([
      ['cloudformation:UpdateStack', 'Allowed'],
      ['iam:PassRole', 'Allowed'],
    ]);

    const toEc2Only = {
      ...ROLES,
      updateStack: role('update-stack', [
        ROLES.updateStack!.policies[0]!.document.Statement[0]!,
        allow('PassTheStackServiceRole', 'iam:PassRole', DEPLOYER, { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } }),
      ]),
    };
    const denied = await evaluateCalls(calls, toEc2Only, OPTIONS);
    expect(denied.denials.map((d) => d.request.action)).toEqual(['iam:PassRole']);
    expect(denied.summary()).toContain(
      'condition not met: StringEquals iam:PassedToService="ec2.amazonaws.com" (request: "cloudformation.amazonaws.com")',
    );
  });

  it('evaluates aws:ResourceTag conditions with the tags the harness knows', async () => {
    const report = await evaluateCalls(
      [
        call('confirmRegistration', 'ecs:ListContainerInstances', { cluster: 'platform-cluster' }),
        call('confirmRegistration', 'ecs:ListContainerInstances', { cluster: 'data-cluster' }),
      ],
      ROLES,
      OPTIONS,
    );
    expect(report.decisions.map((d) => [d.request.resource, d.decision])).toEqual([
      [`arn:aws:ecs:${R}:${A}:cluster/platform-cluster`, 'Allowed'],
      [`arn:aws:ecs:${R}:${A}:cluster/data-cluster`, 'ImplicitlyDenied'],
    ]);
    expect(report.summary()).toContain('StringEquals aws:ResourceTag/team="platform" (request: "data")');
  });

  it('checks the KMS permissions SNS uses to publish to an encrypted topic, against identity and key policy', async () => {
    const calls = [call('notify', 'sns:Publish', { TopicArn: TOPIC, Message: 'hi' })];
    expect((await evaluateCalls(calls, ROLES, OPTIONS)).decisions.map((d) => [d.request.action, d.decision])).toEqual([
      ['sns:Publish', 'Allowed'],
      ['kms:GenerateDataKey', 'Allowed'],
      ['kms:Decrypt', 'Allowed'],
    ]);
    expect((await evaluateCalls(calls, without(ROLES, 'notify', 'UseTheTopicKey'), OPTIONS)).denials.map((d) => d.request.action)).toEqual([
      'kms:GenerateDataKey',
      'kms:Decrypt',
    ]);
    // A key policy that does not let the account's IAM policies grant use of the key.
    const serviceOnly: PolicyDocument = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' }, Action: 'kms:*', Resource: '*' }],
    };
    const keyPolicyDenies = await evaluateCalls(calls, ROLES, { ...OPTIONS, resourcePolicies: { [KEY]: serviceOnly } });
    expect(keyPolicyDenies.denials.map((d) => d.request.action)).toEqual(['kms:GenerateDataKey', 'kms:Decrypt']);
  });

  it('reports an explicit deny as such', async () => {
    const roles = {
      ...ROLES,
      checkRequest: role('check-request', [
        ...ROLES.checkRequest!.policies[0]!.document.Statement,
        { Sid: 'NeverHistory', Effect: 'Deny', Action: 'ssm:GetParameterHistory', Resource: '*' },
      ]),
    };
    const report = await evaluateCalls([call('checkRequest', 'ssm:GetParameterHistory', { Name: '/svc/ci/ami/current' })], roles, OPTIONS);
    expect(report.denials[0]).toMatchObject({ decision: 'ExplicitlyDenied' });
    expect(report.summary()).toContain('Deny statement NeverHistory covers ssm:GetParameterHistory');
  });

  it('treats GetParametersByPath as a request on the path itself, which a path/* grant does not cover', async () => {
    const report = await evaluateCalls(
      [call('checkRequest', 'ssm:GetParametersByPath', { Path: '/svc/ci', Recursive: true })],
      { checkRequest: role('check-request', [allow('ByPath', 'ssm:GetParametersByPath', PARAM('svc/ci/*'))]) },
      OPTIONS,
    );
    expect(report.denials.map((d) => d.request.resource)).toEqual([PARAM('svc/ci')]);
  });

  it('skips the harness’s own calls, and denies an actor without a role', async () => {
    const report = await evaluateCalls(
      [call(undefined, 'ec2:RunInstances', { ImageId: 'ami-1' }), call('somethingNew', 'ssm:GetParameter', { Name: '/x' })],
      ROLES,
      OPTIONS,
    );
    expect(report.decisions).toHaveLength(1);
    expect(report.summary()).toContain('no role known for actor somethingNew');
  });

  it('fails loudly for an action without a resource mapping', async () => {
    await expect(evaluateCalls([call('checkRequest', 'ssm:DeleteParameter', { Name: '/x' })], ROLES, OPTIONS)).rejects.toThrow(
      /no resource mapping for ssm:DeleteParameter \(by checkRequest\); add it to local\/iam\/resources\.ts/,
    );
  });
});

describe('unused grants', () => {
  const calls = [
    call('checkRequest', 'ssm:GetParameter', { Name: '/svc/ci/ami/current' }),
    call('notify', 'sns:Publish', { TopicArn: TOPIC, Message: 'hi' }),
    call(undefined, 'ssm:GetParameterHistory', { Name: '/svc/ci/ami/current' }),
  ];

  it('lists action patterns no call of that actor used, counting wildcards and work done on the caller’s behalf', () => {
    const unused = unusedGrants(calls, ROLES, { ...OPTIONS, assumeUsed: LAMBDA_RUNTIME_ACTIONS });
    expect(unused.map((g) => `${g.actor} ${g.sid} ${g.action}`)).toEqual(['checkRequest ReadPipelineParameters ssm:GetParameterHistory']);
    expect(formatUnusedGrants(unused)).toBe(`checkRequest: ReadPipelineParameters grants ssm:GetParameterHistory on ${PARAM('svc/ci/*')} — no call used it`);
  });

  it('reports everything of an actor asked about that made no call', () => {
    const unused = unusedGrants([], ROLES, { ...OPTIONS, actors: ['promoteAmi'] });
    expect(unused.map((g) => g.action)).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents', 'ec2:DescribeImages', 'ssm:PutParameter']);
  });
});

describe('licence boundary', () => {
  it('keeps the AGPL simulator out of the function code (it is a dev dependency for tests and the harness)', () => {
    const files = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : [path.join(dir, e.name)]));
    const offenders = files(path.join(__dirname, '..', '..', 'functions')).filter((f) => /@cloud-copilot|local\/iam/.test(readFileSync(f, 'utf8')));
    expect(offenders).toEqual([]);
    const pkg = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
    expect(Object.keys(pkg.dependencies).filter((d) => d.startsWith('@cloud-copilot/'))).toEqual([]);
    expect(pkg.devDependencies['@cloud-copilot/iam-simulate']).toBeDefined();
  });
});
