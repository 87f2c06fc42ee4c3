/**
 * The roles `osls package` generates (deploy/iam.js), resolved for an account and region, allow the
 * calls each function makes: hand-built calls shaped like the handlers' (the e2e scenarios will feed
 * the recorded ones). Packages once, with the default params plus two waves (without waves there is
 * no stack or cluster to grant anything on).
 */
import { evaluateCalls, LAMBDA_RUNTIME_ACTIONS, unusedGrants, type EvaluableCall } from '../../local/iam/evaluate';
import { evaluationContext, resolvePackagedIam, rolesByActor, type PackagedIam, type Template } from '../../local/iam/roles';

const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
// The configured stage packaged once for every check that reads it (deploy/packaged-stages.js):
// stage demo, the demo's stacks ecs-dev and ecs-prod, without a stack service role.
const { packagedTemplate } = require('../../deploy/packaged-stages') as { packagedTemplate: (name: string) => Template };
let template: Template;
let iam: PackagedIam;

beforeAll(() => {
  template = packagedTemplate('configured');
  iam = resolvePackagedIam(template, { account: ACCOUNT, region: REGION });
}, 120_000);

function env(functionKey: string, name: string): string {
  const logicalId = `${functionKey.charAt(0).toUpperCase()}${functionKey.slice(1)}LambdaFunction`;
  const value = template.Resources[logicalId]?.Properties?.Environment?.Variables?.[name];
  if (typeof value !== 'string') throw new Error(`${logicalId} has no string environment variable ${name}`);
  return value;
}

/** A few calls per function, shaped like the handlers' (the calls at the heart of each step). */
function callsOfEachFunction(): EvaluableCall[] {
  const prefix = env('checkRequest', 'PARAMETER_PREFIX');
  const stateMachineArn = String(iam.resolve({ Ref: 'PipelineStateMachine' }));
  const topicArn = String(iam.resolve({ Ref: 'NotificationsTopic' }));
  const recommended = '/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended';
  const c = (actor: string, action: string, input: Record<string, unknown>): EvaluableCall => ({ actor, action, input, region: REGION });
  const image = { Type: 'String', DataType: 'aws:ec2:image', Overwrite: true };
  const text = { Type: 'String', DataType: 'text', Overwrite: true };
  return [
    c('checkRequest', 'ssm:GetParameter', { Name: `${prefix}/ami/current` }),
    c('checkRequest', 'ssm:GetParameter', { Name: recommended }),
    c('checkRequest', 'ssm:GetParameterHistory', { Name: `${prefix}/ami/current`, MaxResults: 50 }),
    c('checkRequest', 'ec2:DescribeImages', { ImageIds: ['ami-0123456789abcdef0'] }),

    c('checkBaseAmi', 'ssm:GetParameter', { Name: recommended }),
    c('checkBaseAmi', 'ssm:GetParameter', { Name: `${prefix}/base-ami/current` }),
    c('checkBaseAmi', 'states:StartExecution', { stateMachineArn, name: 'base-ami-0123-a1-20261128T0400', input: '{}' }),

    c('recordBakedAmi', 'ec2:DescribeImages', { ImageIds: ['ami-0123456789abcdef0'] }),
    c('recordBakedAmi', 'ssm:PutParameter', { Name: `${prefix}/ami/latest/record`, Value: '{}', ...text }),
    c('recordBakedAmi', 'ssm:PutParameter', { Name: `${prefix}/ami/latest`, Value: 'ami-0123456789abcdef0', ...image }),

    c('updateStack', 'cloudformation:DescribeStacks', { StackName: 'ecs-dev' }),
    c('updateStack', 'cloudformation:UpdateStack', { StackName: 'ecs-dev', UsePreviousTemplate: true, Parameters: [], Capabilities: ['CAPABILITY_IAM'] }),

    c('checkStackUpdate', 'cloudformation:DescribeStacks', { StackName: 'ecs-prod' }),
    c('checkStackUpdate', 'cloudformation:DescribeStackEvents', { StackName: 'ecs-prod' }),

    c('confirmRegistration', 'cloudformation:DescribeStacks', { StackName: 'ecs-prod' }),
    c('confirmRegistration', 'autoscaling:DescribeAutoScalingGroups', { AutoScalingGroupNames: ['ecs-prod-AutoScalingGroup-1'] }),
    c('confirmRegistration', 'ecs:ListContainerInstances', { cluster: 'ecs-prod', maxResults: 100 }),
    c('confirmRegistration', 'ecs:DescribeContainerInstances', {
      cluster: 'ecs-prod',
      containerInstances: [`arn:aws:ecs:${REGION}:${ACCOUNT}:container-instance/ecs-prod/0123456789abcdef`],
    }),

    c('promoteAmi', 'ssm:PutParameter', { Name: `${prefix}/ami/current/record`, Value: '{}', ...text }),
    c('promoteAmi', 'ssm:PutParameter', { Name: `${prefix}/ami/current`, Value: 'ami-0123456789abcdef0', ...image }),

    c('notify', 'sns:Publish', { TopicArn: topicArn, Subject: 's', Message: 'm' }),
  ];
}

describe('the roles osls packages', () => {
  it('resolve for every function', () => {
    expect(Object.keys(iam.functionRoles)).toEqual(
      expect.arrayContaining(['assessWave', 'checkBaseAmi', 'checkRequest', 'checkStackUpdate', 'confirmRegistration', 'notify', 'promoteAmi', 'recordBakedAmi', 'updateStack']),
    );
    for (const role of Object.values(iam.functionRoles)) {
      expect(role.assumedBy).toEqual(['lambda.amazonaws.com']);
      expect(JSON.stringify(role.policies)).not.toMatch(/Fn::|"Ref"|\$\{/);
    }
  });

  it('allow the calls each function makes, with their real resources and context', async () => {
    const report = await evaluateCalls(callsOfEachFunction(), rolesByActor(iam), evaluationContext(iam));
    expect(report.summary()).toBe('');
    // sns:Publish to the encrypted topic also needed the key: the evaluation covered it.
    expect(report.decisions.filter((d) => d.actor === 'notify').map((d) => d.request.action)).toEqual(['sns:Publish', 'kms:GenerateDataKey', 'kms:Decrypt']);
  });

  it('refuse the same calls in another account, or on a stack that is not configured', async () => {
    const elsewhere = await evaluateCalls(
      [{ actor: 'checkRequest', action: 'ssm:GetParameter', input: { Name: `${env('checkRequest', 'PARAMETER_PREFIX')}/ami/current` }, region: REGION }],
      rolesByActor(iam),
      { ...evaluationContext(iam), account: '999999999999' },
    );
    expect(elsewhere.ok).toBe(false);
    const otherStack = await evaluateCalls(
      [{ actor: 'updateStack', action: 'cloudformation:UpdateStack', input: { StackName: 'someone-elses-stack', UsePreviousTemplate: true }, region: REGION }],
      rolesByActor(iam),
      evaluationContext(iam),
    );
    expect(otherStack.summary()).toContain('updateStack -> cloudformation:UpdateStack on arn:aws:cloudformation:eu-west-1:123456789012:stack/someone-elses-stack/');
  });

  it('list grants these calls left unused, never one a call used', () => {
    const calls = callsOfEachFunction();
    const unused = unusedGrants(calls, rolesByActor(iam), { ...evaluationContext(iam), assumeUsed: LAMBDA_RUNTIME_ACTIONS });
    for (const grant of unused) {
      expect(calls.filter((c) => c.actor === grant.actor).map((c) => c.action)).not.toContain(grant.action);
    }
    // Without stackRoleArn, updateStack holds what CloudFormation needs to roll the stacks with the
    // caller's credentials; the function never calls these itself.
    expect(unused).toEqual(expect.arrayContaining([expect.objectContaining({ actor: 'updateStack', action: 'ec2:CreateLaunchTemplateVersion' })]));
  });
});
