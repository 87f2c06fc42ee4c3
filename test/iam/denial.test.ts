/**
 * The evaluation can fail: calls the e2e success scenario really recorded (the first call of each
 * function and action, kept in fixtures/success-scenario-calls.json) are allowed by the packaged
 * configured stage's roles, and denied, with the function, action and resource named, once one
 * grant they need is taken out of the packaged template.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ACCOUNT_ID } from '../../local/deployment';
import { evaluateCalls, type EvaluableCall } from '../../local/iam/evaluate';
import { evaluationContext, resolvePackagedIam, rolesByActor, type Template } from '../../local/iam/roles';

const { packagedTemplate } = require('../../deploy/packaged-stages') as { packagedTemplate: (name: string) => Template };
const RECORDED = JSON.parse(readFileSync(path.join(__dirname, 'fixtures', 'success-scenario-calls.json'), 'utf8')) as { calls: EvaluableCall[] };
const REGION = RECORDED.calls[0]!.region!;

let template: Template;
beforeAll(() => {
  template = packagedTemplate('configured');
}, 120_000);

/** The packaged template with one statement taken out of one role's policy. */
function withoutStatement(roleId: string, sid: string): Template {
  const copy = structuredClone(template);
  const policy = copy.Resources[roleId]!.Properties.Policies[0].PolicyDocument as { Statement: { Sid: string }[] };
  const before = policy.Statement.length;
  policy.Statement = policy.Statement.filter((s) => s.Sid !== sid);
  if (policy.Statement.length !== before - 1) throw new Error(`${roleId} has no statement ${sid}`);
  return copy;
}

async function evaluate(t: Template) {
  // The demo's account: the recorded calls name its resources.
  const iam = resolvePackagedIam(t, { account: ACCOUNT_ID, region: REGION });
  return evaluateCalls(RECORDED.calls, rolesByActor(iam), evaluationContext(iam));
}

it('allows every recorded call with the roles as packaged', async () => {
  expect(RECORDED.calls.length).toBeGreaterThan(30);
  expect((await evaluate(template)).summary()).toBe('');
});

it('denies the stack update once UpdateStackRole loses UpdateConfiguredStacks, naming function, action and resource', async () => {
  const report = await evaluate(withoutStatement('UpdateStackRole', 'UpdateConfiguredStacks'));
  expect(report.denials.map((d) => `${d.actor} ${d.request.action}`)).toEqual(['updateStack cloudformation:DescribeStacks', 'updateStack cloudformation:UpdateStack']);
  expect(report.summary()).toContain(`ImplicitlyDenied: updateStack -> cloudformation:UpdateStack on arn:aws:cloudformation:${REGION}:${ACCOUNT_ID}:stack/ecs-dev/`);
  expect(report.summary()).toContain('no statement in the role grants cloudformation:UpdateStack');
});

it('denies what SNS does with the publisher’s permissions once NotifyRole loses the topic key', async () => {
  const report = await evaluate(withoutStatement('NotifyRole', 'UseTheTopicKey'));
  expect(report.denials.map((d) => `${d.actor} ${d.request.action} ${d.request.via}`)).toEqual([
    'notify kms:GenerateDataKey sns.amazonaws.com',
    'notify kms:Decrypt sns.amazonaws.com',
  ]);
  expect(report.summary()).toMatch(/notify -> kms:GenerateDataKey on arn:aws:kms:[^:]+:\d+:key\/[0-9a-f-]+ \(made by sns\.amazonaws\.com/);
});
