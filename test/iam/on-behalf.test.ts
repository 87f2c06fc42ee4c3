/**
 * What AWS does on the pipeline's behalf, evaluated like the functions' recorded calls: the call
 * lists of local/iam/on-behalf.ts (each written from, and citing, AWS's or Packer's documentation)
 * against the roles `osls package` generates for both packaged stages (deploy/packaged-stages.js):
 * `default` (stage ci, every param at its default, no waves) and `configured` (stage demo, stacks
 * ecs-dev and ecs-prod, KMS key, build VPC, no stack role). A call a role would deny fails with the
 * role (or function), the action and the resource.
 */
import { LAMBDA_ENV, MANAGED_BY_VALUE } from '../../functions/lib/contracts';
import { evaluateCalls, type EvaluableCall, type EvaluationReport, type RoleLike } from '../../local/iam/evaluate';
import { onBehalfCalls, packerOptionsInUse, PACKER_OPTIONS_ASSUMED, type OnBehalf } from '../../local/iam/on-behalf';
import { evaluationContext, resolvePackagedIam, rolesByActor, type PackagedIam, type Template } from '../../local/iam/roles';
import { autoScalingGroupArn } from '../../local/iam/resources';

// The configured stage's KMS key lives in this account and region (deploy/packaged-stages.js).
const ACCOUNT = '111122223333';
const REGION = 'us-east-1';
const { packagedTemplate } = require('../../deploy/packaged-stages') as { packagedTemplate: (name: string) => Template };

interface Stage {
  template: Template;
  iam: PackagedIam;
  onBehalf: OnBehalf;
}
const stages: Record<string, Stage> = {};

beforeAll(() => {
  for (const name of ['default', 'configured']) {
    const template = packagedTemplate(name);
    const iam = resolvePackagedIam(template, { account: ACCOUNT, region: REGION });
    stages[name] = { template, iam, onBehalf: onBehalfCalls(template, iam) };
  }
}, 120_000);

function evaluate(stage: Stage, calls: EvaluableCall[], roles: Record<string, RoleLike> = rolesByActor(stage.iam)): Promise<EvaluationReport> {
  return evaluateCalls(calls, roles, { ...evaluationContext(stage.iam), ...stage.onBehalf.environment });
}

const callsOf = (stage: Stage, actor: string) => stage.onBehalf.lists.filter((l) => l.actor === actor).flatMap((l) => l.calls);

function without(roles: Record<string, RoleLike>, actor: string, sid: string): Record<string, RoleLike> {
  const role = roles[actor]!;
  return {
    ...roles,
    [actor]: { ...role, policies: role.policies.map((p) => ({ ...p, document: { ...p.document, Statement: p.document.Statement.filter((s) => s.Sid !== sid) } })) },
  };
}

describe.each(['default', 'configured'])('the %s stage', (name) => {
  const stage = () => stages[name]!;

  it('lets Step Functions invoke every function the definition names, run the bake with startBuild.sync, run the Distributed Map, trace and log', async () => {
    const calls = callsOf(stage(), 'StateMachineRole');
    const report = await evaluate(stage(), calls);
    expect(report.summary()).toBe('');
    const substitutions = stage().template.Resources.PipelineStateMachine!.Properties.DefinitionSubstitutions as Record<string, unknown>;
    const invoked = report.decisions.filter((d) => d.request.action === 'lambda:InvokeFunction').map((d) => d.request.resource);
    expect(invoked).toHaveLength(Object.keys(substitutions).filter((k) => k.endsWith('FunctionArn')).length);
    expect(report.decisions.map((d) => d.request.action)).toEqual(
      expect.arrayContaining(['codebuild:StartBuild', 'codebuild:BatchGetBuilds', 'codebuild:StopBuild', 'events:PutRule', 'events:PutTargets', 'events:DescribeRule']),
    );
    expect(report.decisions.filter((d) => d.request.action.startsWith('events:')).map((d) => d.request.resource)).toEqual(
      Array(3).fill(`arn:aws:events:${REGION}:${ACCOUNT}:rule/StepFunctionsGetEventsForCodeBuildStartBuildRule`),
    );
    const child = report.decisions.find((d) => d.request.action === 'states:DescribeExecution')!.request.resource;
    expect(child).toMatch(new RegExp(`:execution:${stage().iam.stackName}/cluster:`));
  });

  it('lets the schedule start the pipeline', async () => {
    const report = await evaluate(stage(), callsOf(stage(), 'SchedulerRole'));
    expect(report.summary()).toBe('');
    expect(report.decisions.map((d) => [d.request.action, d.request.resource])).toEqual([
      ['states:StartExecution', `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${stage().iam.stackName}`],
    ]);
  });

  it('lets CodeBuild run the bake and Packer build the image with this template’s options', async () => {
    const report = await evaluate(stage(), callsOf(stage(), 'BakeProjectRole'));
    expect(report.summary()).toBe('');
    const actions = new Set(report.decisions.map((d) => d.request.action));
    // Tag-on-create with run_tags, for each temporary resource and the image.
    const tagged = report.decisions.filter((d) => d.request.action === 'ec2:CreateTags' && d.request.context['ec2:CreateAction']);
    expect(tagged.map((d) => d.request.context['ec2:CreateAction'])).toEqual(
      expect.arrayContaining(['CreateKeyPair', 'CreateSecurityGroup', 'RunInstances', 'CreateImage']),
    );
    if (name === 'configured') {
      // The configured KMS key, through EBS, and CodeBuild's interface in the build subnet.
      expect(report.decisions.find((d) => d.request.action === 'kms:CreateGrant')?.request.context).toMatchObject({ 'kms:GrantIsForAWSResource': 'true' });
      expect([...actions]).toEqual(expect.arrayContaining(['kms:GenerateDataKeyWithoutPlaintext', 'kms:Decrypt', 'kms:DescribeKey', 'ec2:CreateNetworkInterfacePermission', 'ec2:DescribeSubnets']));
    } else {
      expect([...actions].filter((a) => a.startsWith('kms:') || a.includes('NetworkInterface') || a === 'ec2:DescribeSubnets')).toEqual([]);
    }
  });

  it('lets Lambda write each function’s logs', async () => {
    const keys = Object.keys(stage().iam.functionRoles);
    const report = await evaluate(stage(), keys.flatMap((k) => callsOf(stage(), k)));
    expect(report.summary()).toBe('');
    expect(new Set(report.decisions.map((d) => d.actor))).toEqual(new Set(keys));
  });

  it('lets Packer stop, terminate and delete only what it tagged ManagedBy', async () => {
    const untagged = [
      { action: 'ec2:TerminateInstances', input: { InstanceIds: ['i-0someoneelse000000'] } },
      { action: 'ec2:DeleteKeyPair', input: { KeyName: 'someone-elses-key' } },
      { action: 'ec2:DeleteSecurityGroup', input: { GroupId: 'sg-0someoneelse00000' } },
      { action: 'ec2:DeregisterImage', input: { ImageId: 'ami-0someoneelse00000' } },
    ].map((c) => ({ actor: 'BakeProjectRole', region: REGION, ...c }));
    const report = await evaluate(stage(), untagged);
    expect(report.denials.map((d) => d.request.action)).toEqual(untagged.map((c) => c.action));
    expect(report.summary()).toContain(`condition not met: StringEquals aws:ResourceTag/ManagedBy="${MANAGED_BY_VALUE}" (request: absent)`);
  });
});

describe('the conditions on what Packer creates (configured stage)', () => {
  const configured = () => stages.configured!;

  it('keeps Packer’s creations in the deployment’s region', async () => {
    const launch = callsOf(configured(), 'BakeProjectRole').find((c) => c.action === 'ec2:RunInstances')!;
    const report = await evaluate(configured(), [{ ...launch, region: 'eu-west-1' }]);
    expect(report.denials.length).toBeGreaterThan(0);
    expect(report.summary()).toContain('condition not met: StringEquals aws:RequestedRegion="us-east-1" (request: "eu-west-1")');
  });

  it('lets only an AWS service create grants on the image key', async () => {
    const key = configured().template.Resources.BakeProject!.Properties.Environment.EnvironmentVariables.find(
      (v: { Name: string }) => v.Name === 'EBS_KMS_KEY_ID',
    ).Value as string;
    const role = rolesByActor(configured().iam).BakeProjectRole!;
    const grant = role.policies.flatMap((p) => p.document.Statement).find((s) => s.Sid === 'LetEbsUseTheKey')!;
    expect(grant).toMatchObject({ Resource: key, Condition: { Bool: { 'kms:GrantIsForAWSResource': true } } });
    // Through EBS (RunInstances with the key) the grant is for an AWS resource and allowed (the
    // Packer list above); made directly, by anything running with the role, it is refused.
    const direct = await evaluate(configured(), [
      { actor: 'BakeProjectRole', action: 'kms:CreateGrant', input: { KeyId: key, GranteePrincipal: `arn:aws:iam::${ACCOUNT}:role/someone`, Operations: ['Decrypt'] }, region: REGION },
    ]);
    expect(direct.summary()).toContain(`BakeProjectRole -> kms:CreateGrant on ${key}`);
    expect(direct.summary()).toContain('condition not met: Bool kms:GrantIsForAWSResource=true (request: "false")');
    const viaEbs = await evaluate(configured(), callsOf(configured(), 'BakeProjectRole'));
    expect(viaEbs.decisions.filter((d) => d.request.action === 'kms:CreateGrant').map((d) => [d.decision, d.request.via])).toEqual([['Allowed', 'ec2.amazonaws.com']]);
  });
});

describe('CloudFormation’s rolling update with the update function’s credentials (no stack role)', () => {
  const configured = () => stages.configured!;

  it('is allowed on every configured stack: launch template version, group update, RunInstances with its tags and instance role', async () => {
    const calls = callsOf(configured(), 'updateStack');
    const report = await evaluate(configured(), calls);
    expect(report.summary()).toBe('');
    const stacks = new Set(report.decisions.filter((d) => d.request.action === 'autoscaling:UpdateAutoScalingGroup').map((d) => d.request.resource.split('/').pop()));
    // ecs-prod-eu is rolled in eu-west-1 (the configured stage's regional target).
    expect(stacks).toEqual(new Set(['ecs-dev-instances', 'ecs-prod-instances', 'ecs-prod-eu-instances', 'ecs-prod-arm-instances']));
    // RunInstances is authorized on every resource the launch uses or creates, through the template.
    const run = report.decisions.filter((d) => d.request.action === 'ec2:RunInstances');
    expect(new Set(run.map((d) => d.request.resourceType))).toEqual(
      new Set(['image', 'instance', 'volume', 'network-interface', 'security-group', 'subnet', 'launch-template']),
    );
    for (const d of run) expect(d.request.context['ec2:LaunchTemplate']).toMatch(/:launch-template\/lt-/);
    // The cluster template tags its volumes at launch: CreateTags as part of RunInstances.
    const tagOnLaunch = report.decisions.filter((d) => d.request.action === 'ec2:CreateTags');
    expect(tagOnLaunch.map((d) => [d.request.resourceType, d.request.context['ec2:CreateAction']])).toEqual([
      ['volume', 'RunInstances'],
      ['volume', 'RunInstances'],
      ['volume', 'RunInstances'],
      ['volume', 'RunInstances'],
    ]);
    const passRole = report.decisions.filter((d) => d.request.action === 'iam:PassRole');
    expect(passRole.map((d) => [d.request.resource, d.request.context['iam:PassedToService']])).toEqual([
      [`arn:aws:iam::${ACCOUNT}:role/ecs-dev-InstanceRole-0A1B2C3D4E5F`, 'ec2.amazonaws.com'],
      [`arn:aws:iam::${ACCOUNT}:role/ecs-prod-InstanceRole-0A1B2C3D4E5F`, 'ec2.amazonaws.com'],
      [`arn:aws:iam::${ACCOUNT}:role/ecs-prod-eu-InstanceRole-0A1B2C3D4E5F`, 'ec2.amazonaws.com'],
      [`arn:aws:iam::${ACCOUNT}:role/ecs-prod-arm-InstanceRole-0A1B2C3D4E5F`, 'ec2.amazonaws.com'],
    ]);
  });

  it('was missing ec2:CreateTags for RunInstances before TagWhatTheLaunchTemplateLaunches: the denial names the function, action and resource', async () => {
    const roles = without(rolesByActor(configured().iam), 'updateStack', 'TagWhatTheLaunchTemplateLaunches');
    const report = await evaluate(configured(), callsOf(configured(), 'updateStack'), roles);
    expect(report.denials.map((d) => `${d.actor} ${d.request.action} ${d.request.resource}`)).toEqual([
      `updateStack ec2:CreateTags arn:aws:ec2:${REGION}:${ACCOUNT}:volume/vol-new`,
      `updateStack ec2:CreateTags arn:aws:ec2:${REGION}:${ACCOUNT}:volume/vol-new`,
      `updateStack ec2:CreateTags arn:aws:ec2:eu-west-1:${ACCOUNT}:volume/vol-new`,
      `updateStack ec2:CreateTags arn:aws:ec2:${REGION}:${ACCOUNT}:volume/vol-new`,
    ]);
    expect(report.summary()).toContain('made by cloudformation.amazonaws.com with the caller');
    expect(report.summary()).toContain('statement NewLaunchTemplateVersionsOfTheseStacks grants ec2:CreateTags: resource does not match');
  });

  it('is not granted at all in a stage without waves (nothing to roll)', () => {
    const update = stages.default!.iam.functionRoles.updateStack!;
    const actions = update.policies.flatMap((p) => p.document.Statement.flatMap((s) => [s.Action].flat()));
    expect(actions.filter((a) => /^(ec2|autoscaling|iam):/.test(String(a)))).toEqual([]);
    expect(callsOf(stages.default!, 'updateStack').filter((c) => c.via === 'cloudformation.amazonaws.com')).toEqual([]);
  });
});

describe('a wave target in another region than the stage’s', () => {
  it('is rolled by CloudFormation in its own region: the calls and the ARNs of its group and template name that region', () => {
    const stage = stages.configured!;
    const template = structuredClone(stage.template);
    const variables = template.Resources.CheckRequestLambdaFunction!.Properties.Environment.Variables as Record<string, string>;
    const waves = JSON.parse(variables[LAMBDA_ENV.clusterWaves]!) as { clusters: Record<string, string>[] }[];
    waves.at(-1)!.clusters.push({ stackName: 'ecs-prod-eu', clusterName: 'ecs-prod-eu', imageParameter: 'ImageId', region: 'eu-west-1' });
    variables[LAMBDA_ENV.clusterWaves] = JSON.stringify(waves);
    const onBehalf = onBehalfCalls(template, stage.iam);
    const regionsOf = (stack: string) =>
      new Set(onBehalf.lists.filter((l) => l.actor === 'updateStack' && l.title.includes(` ${stack} `)).flatMap((l) => l.calls.map((c) => c.region)));
    expect(regionsOf('ecs-prod-eu')).toEqual(new Set(['eu-west-1']));
    expect(regionsOf('ecs-prod')).toEqual(new Set([REGION]));
    const group = (region: string) => autoScalingGroupArn('ecs-prod-eu-instances', { account: ACCOUNT, region, partition: 'aws' });
    expect(onBehalf.environment.resourceTags?.(group('eu-west-1'))).toMatchObject({ 'aws:cloudformation:stack-name': 'ecs-prod-eu' });
    expect(onBehalf.environment.resourceTags?.(group(REGION))).toBeUndefined();
  });
});

describe('the Packer call list', () => {
  it('was written for the options packer/ecs-ami.pkr.hcl sets (a change to them changes Packer’s calls: update local/iam/on-behalf.ts)', () => {
    const options = packerOptionsInUse();
    expect(PACKER_OPTIONS_ASSUMED.set.filter((o) => !options.set.has(o))).toEqual([]);
    expect(PACKER_OPTIONS_ASSUMED.absent.filter((o) => options.set.has(o))).toEqual([]);
    expect(options.launchBlockDevices).toBe(PACKER_OPTIONS_ASSUMED.launchBlockDevices);
    // No data source (amazon-parameterstore, amazon-secretsmanager, amazon-ami): none calls AWS with the role.
    expect(options.dataSources).toEqual([]);
    // The destructive grants are conditioned on the tag Packer puts on everything it makes.
    expect(options.runTags.ManagedBy).toBe(MANAGED_BY_VALUE);
  });

  it('cites its sources on every call', () => {
    for (const stage of Object.values(stages)) {
      for (const list of stage.onBehalf.lists) {
        expect(list.docs.every((d) => /^https:\/\//.test(d))).toBe(true);
        for (const call of list.calls) expect(call.because).toBeTruthy();
      }
    }
  });
});
