import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_IMAGE_PARAMETER, FIRSTRUN_PATH_IN_IMAGE } from '../../functions/lib/contracts';
import { loadCfg } from '../../local/cfg-file';
import { loadCfnYaml, walk, type CfnResource, type CfnTemplate } from '../../local/cfn-yaml';

/**
 * Static checks that keep the cluster template honest where the emulator cannot look: moto
 * ignores CreationPolicy/UpdatePolicy, security group egress and capacity providers.
 */

const ROOT = join(__dirname, '..', '..');
const TEMPLATE_PATH = join(ROOT, 'cluster', 'ecs-cluster.yml');
const PARAMS_DIR = join(ROOT, 'cluster', 'params');
const template: CfnTemplate = loadCfnYaml(TEMPLATE_PATH);

type Obj = Record<string, unknown>;

function resourcesOfType(type: string): [string, CfnResource][] {
  return Object.entries(template.Resources).filter(([, r]) => r.Type === type);
}

function onlyResourceOfType(type: string): [string, CfnResource] {
  const found = resourcesOfType(type);
  expect(found.map(([id]) => id)).toHaveLength(1);
  return found[0]!;
}

function props(resource: CfnResource): Obj {
  return (resource.Properties ?? {}) as Obj;
}

function get(root: unknown, ...path: string[]): unknown {
  let node = root;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Obj)[key];
  }
  return node;
}

const [ltId, launchTemplate] = onlyResourceOfType('AWS::EC2::LaunchTemplate');
const [asgId, asg] = onlyResourceOfType('AWS::AutoScaling::AutoScalingGroup');
const [clusterId] = onlyResourceOfType('AWS::ECS::Cluster');
const ltData = props(launchTemplate).LaunchTemplateData as Obj;

/** The user data script as it will run, with !Sub variables left as ${...}. */
function userDataScript(): string {
  const base64 = ltData.UserData as Obj;
  const sub = base64['Fn::Base64'] as Obj;
  const value = sub['Fn::Sub'];
  return Array.isArray(value) ? (value[0] as string) : (value as string);
}

function initCommands(): Record<string, { command: string; env?: Record<string, unknown> }> {
  return get(launchTemplate.Metadata, 'AWS::CloudFormation::Init', 'config', 'commands') as Record<
    string,
    { command: string; env?: Record<string, unknown> }
  >;
}

describe('network exposure', () => {
  it('opens no ingress to the internet anywhere (0.0.0.0/0 or ::/0)', () => {
    const openIngress = [...walk(template.Resources)].filter(
      ({ path, value }) =>
        path.some((k) => /ingress/i.test(k)) &&
        value !== null &&
        typeof value === 'object' &&
        ((value as Obj).CidrIp === '0.0.0.0/0' || (value as Obj).CidrIpv6 === '::/0'),
    );
    expect(openIngress.map(({ path }) => path.join('.'))).toEqual([]);
    for (const [id] of resourcesOfType('AWS::EC2::SecurityGroupIngress')) {
      const cidr = props(template.Resources[id]!);
      expect([cidr.CidrIp, cidr.CidrIpv6]).not.toContain('0.0.0.0/0');
      expect([cidr.CidrIp, cidr.CidrIpv6]).not.toContain('::/0');
    }
  });

  it('gives the instances no inbound rule at all and no SSH anywhere', () => {
    const [, sg] = onlyResourceOfType('AWS::EC2::SecurityGroup');
    expect(props(sg).SecurityGroupIngress).toBeUndefined();
    expect(resourcesOfType('AWS::EC2::SecurityGroupIngress')).toEqual([]);
    const port22 = [...walk(template.Resources)].filter(({ path, value }) => /Port$/.test(path.at(-1) ?? '') && Number(value) === 22);
    expect(port22).toEqual([]);
  });

  it('allows only HTTPS out', () => {
    const [, sg] = onlyResourceOfType('AWS::EC2::SecurityGroup');
    const egress = props(sg).SecurityGroupEgress as Obj[];
    expect(egress.map((r) => [r.IpProtocol, r.FromPort, r.ToPort, r.CidrIp])).toEqual([['tcp', 443, 443, '0.0.0.0/0']]);
  });

  it('requires no key pair: the key name is optional and only used behind its condition', () => {
    expect(template.Parameters?.KeyName).toMatchObject({ Type: 'String', Default: '' });
    expect(ltData.KeyName).toEqual({ 'Fn::If': ['HasKeyName', { Ref: 'KeyName' }, { Ref: 'AWS::NoValue' }] });
  });
});

describe('launch template', () => {
  it('is the only kind of launch configuration in the template', () => {
    expect(resourcesOfType('AWS::AutoScaling::LaunchConfiguration')).toEqual([]);
    expect(JSON.stringify(template)).not.toContain('LaunchConfigurationName');
  });

  it('takes the image from the contract parameter', () => {
    expect(template.Parameters?.[DEFAULT_IMAGE_PARAMETER]?.Type).toBe('AWS::EC2::Image::Id');
    expect(ltData.ImageId).toEqual({ Ref: DEFAULT_IMAGE_PARAMETER });
  });

  it('requires IMDSv2, with a hop limit that keeps bridge-network containers out by default', () => {
    expect(ltData.MetadataOptions).toEqual({
      HttpEndpoint: 'enabled',
      HttpTokens: 'required',
      HttpPutResponseHopLimit: { Ref: 'MetadataHopLimit' },
    });
    expect(template.Parameters?.MetadataHopLimit).toMatchObject({ Default: 1, AllowedValues: [1, 2] });
  });

  it('encrypts every volume it maps', () => {
    const ebs = [...walk(template.Resources)].filter(({ path }) => path.at(-1) === 'Ebs');
    expect(ebs.length).toBeGreaterThan(0);
    for (const { value } of ebs) expect((value as Obj).Encrypted).toBe(true);
  });

  it('attaches the instance profile and the stack security group', () => {
    const [profileId] = onlyResourceOfType('AWS::IAM::InstanceProfile');
    const [sgId] = onlyResourceOfType('AWS::EC2::SecurityGroup');
    expect(ltData.IamInstanceProfile).toEqual({ Arn: { 'Fn::GetAtt': [profileId, 'Arn'] } });
    expect(JSON.stringify(ltData.SecurityGroupIds)).toContain(JSON.stringify({ Ref: sgId }));
  });
});

describe('monitoring (Control Tower controls CT.ECS.PR.2 and CT.EC2.PR.10)', () => {
  it('turns on Container Insights for the cluster', () => {
    expect(props(template.Resources[clusterId]!).ClusterSettings).toEqual([{ Name: 'containerInsights', Value: 'enabled' }]);
  });

  it('turns on detailed (one-minute) EC2 monitoring for the container instances', () => {
    expect(ltData.Monitoring).toEqual({ Enabled: true });
  });
});

describe('user data and cfn-init', () => {
  it('runs cfn-init against the launch template and signals the group only when cfn-init fails, without set -e', () => {
    const script = userDataScript();
    expect(script.startsWith('#!/bin/bash\n')).toBe(true);
    expect(script).not.toMatch(/^\s*set\s+-[a-z]*e/m);
    expect(script).not.toMatch(/errexit/);
    const lines = script.split('\n').filter((l) => l.trim() !== '' && !l.trim().startsWith('#'));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(new RegExp(`^/opt/aws/bin/cfn-init -v --stack \\$\\{AWS::StackName\\} --resource ${ltId} .*\\|\\|$`));
    expect(lines[1]).toMatch(new RegExp(`^\\s+/opt/aws/bin/cfn-signal -e \\$\\? --stack \\$\\{AWS::StackName\\} --resource ${asgId} `));
    expect(launchTemplate.Metadata?.['AWS::CloudFormation::Init']).toBeDefined();
    expect(asg.CreationPolicy).toBeDefined();
  });

  /**
   * Runs the user data with stand-ins for the helper scripts: `cfn-init` exits with `initStatus`,
   * `cfn-signal` records its arguments. Returns the script's status and the recorded signals.
   */
  function runUserData(initStatus: number): { status: number | null; signals: string[] } {
    const dir = mkdtempSync(join(tmpdir(), 'user-data-'));
    try {
      const log = join(dir, 'calls.log');
      writeFileSync(join(dir, 'cfn-init'), `#!/bin/sh\nexit ${initStatus}\n`);
      writeFileSync(join(dir, 'cfn-signal'), `#!/bin/sh\necho "cfn-signal $*" >> '${log}'\n`);
      for (const tool of ['cfn-init', 'cfn-signal']) chmodSync(join(dir, tool), 0o755);
      const script = userDataScript()
        .replaceAll('/opt/aws/bin/', `${dir}/`)
        .replaceAll('${AWS::StackName}', 'ecs-dev')
        .replaceAll('${AWS::Region}', 'eu-west-1')
        .replaceAll('${ProxyOption}', '');
      const result = spawnSync('/bin/bash', ['-c', script], { encoding: 'utf8' });
      let signals: string[] = [];
      try {
        signals = readFileSync(log, 'utf8').trim().split('\n').filter(Boolean);
      } catch {
        // No signal at all.
      }
      return { status: result.status, signals };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('sends no signal of its own when cfn-init succeeds: the registration unit signals once the agent joined', () => {
    expect(runUserData(0)).toEqual({ status: 0, signals: [] });
  });

  it("signals cfn-init's failure at once, with its exit status", () => {
    expect(runUserData(3).signals).toEqual([`cfn-signal -e 3 --stack ecs-dev --resource ${asgId} --region eu-west-1`]);
  });

  it('runs the image first-run script with the contract environment, after creating the host directories', () => {
    const commands = initCommands();
    const names = Object.keys(commands).sort();
    expect(names).toEqual(['05_host_directories', '10_first_run']);
    const firstRun = commands['10_first_run']!;
    expect(firstRun.command).toBe(`/bin/bash ${FIRSTRUN_PATH_IN_IMAGE}`);
    expect(firstRun.env).toEqual({
      PATH: expect.stringContaining('/usr/bin'),
      ECS_CLUSTER: { Ref: clusterId },
      STACK_NAME: { Ref: 'AWS::StackName' },
      AUTOSCALING_GROUP: props(asg).AutoScalingGroupName,
      CFN_SIGNAL_RESOURCE: asgId,
      AWS_DEFAULT_REGION: { Ref: 'AWS::Region' },
      PROXY_URL: { Ref: 'ProxyUrl' },
    });
    expect(template.Parameters?.ProxyUrl?.Default).toBe('');
  });

  it('gives every cfn-init command a PATH, because cfn-init replaces the environment with env', () => {
    for (const [name, command] of Object.entries(initCommands())) {
      expect([name, command.env?.PATH]).toEqual([name, expect.stringMatching(/(^|:)\/usr\/bin(:|$)/)]);
    }
  });

  it('passes the proxy to the helper scripts only when one is set', () => {
    const sub = get(ltData, 'UserData', 'Fn::Base64', 'Fn::Sub') as unknown[];
    expect(sub[1]).toEqual({ ProxyOption: { 'Fn::If': ['HasProxy', { 'Fn::Sub': '--https-proxy ${ProxyUrl}' }, ''] } });
  });
});

describe('host directories command', () => {
  const parameter = template.Parameters!.HostDirectories!;
  const pattern = new RegExp(parameter.AllowedPattern!);
  const command = initCommands()['05_host_directories']!;

  it('accepts only absolute path:uid:gid lists, so a typo fails the deployment rather than the boot', () => {
    for (const ok of ['', '/data/public:1000:1000', '/data/public:1000:1000,/srv/cache-1:0:0']) {
      expect([ok, pattern.test(ok)]).toEqual([ok, true]);
    }
    for (const bad of ['data/public:1000:1000', '/data/public:1000', '/data public:1:1', '/a:1:1;rm -rf /', '/a:x:1', '/a:1:1,']) {
      expect([bad, pattern.test(bad)]).toEqual([bad, false]);
    }
  });

  function runCommand(hostDirectories: string) {
    return spawnSync('/bin/sh', ['-c', command.command], {
      env: { PATH: String(command.env?.PATH), HOST_DIRECTORIES: hostDirectories },
      encoding: 'utf8',
    });
  }

  it('creates each directory owned by its uid:gid, and nothing when the list is empty', () => {
    const root = mkdtempSync(join(tmpdir(), 'host-dirs-'));
    try {
      // Owning by someone else needs root; CI runs as root, a laptop may not.
      const uid = process.getuid?.() === 0 ? 1000 : (process.getuid?.() ?? 0);
      const gid = process.getuid?.() === 0 ? 1001 : (process.getgid?.() ?? 0);
      const list = [`${root}/data/public:${uid}:${gid}`, `${root}/srv/cache:${uid}:${gid}`].join(',');
      expect(pattern.test(list)).toBe(true);
      const result = runCommand(list);
      expect([result.status, result.stderr]).toEqual([0, '']);
      for (const dir of [`${root}/data/public`, `${root}/srv/cache`]) {
        const stat = statSync(dir);
        expect([dir, stat.isDirectory(), stat.uid, stat.gid]).toEqual([dir, true, uid, gid]);
      }
      expect(runCommand('').status).toBe(0);
      expect(readdirSync(root).sort()).toEqual(['data', 'srv']);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('fails, and so fails cfn-init and the signal, when a directory cannot be made', () => {
    const root = mkdtempSync(join(tmpdir(), 'host-dirs-'));
    try {
      const blocker = join(root, 'file');
      spawnSync('/bin/sh', ['-c', `: > "${blocker}"`]);
      const result = runCommand(`${blocker}/sub:0:0`);
      expect(result.status).not.toBe(0);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('auto scaling group', () => {
  const p = props(asg);

  it('launches the latest launch template version, so a new image id changes the group and rolls it', () => {
    expect(p.LaunchTemplate).toEqual({
      LaunchTemplateId: { Ref: ltId },
      Version: { 'Fn::GetAtt': [ltId, 'LatestVersionNumber'] },
    });
  });

  it('spans the subnet parameter with min, max and desired from parameters', () => {
    expect(p.VPCZoneIdentifier).toEqual({ Ref: 'ApplicationSubnets' });
    expect(template.Parameters?.ApplicationSubnets?.Type).toBe('List<AWS::EC2::Subnet::Id>');
    expect([p.MinSize, p.MaxSize, p.DesiredCapacity]).toEqual([
      { Ref: 'ApplicationMinSize' },
      { Ref: 'ApplicationMaxSize' },
      { Ref: 'ApplicationDesiredCount' },
    ]);
  });

  it('waits at creation for a signal from every desired instance', () => {
    expect(asg.CreationPolicy).toEqual({
      ResourceSignal: { Count: { Ref: 'ApplicationDesiredCount' }, Timeout: { Ref: 'SignalTimeout' } },
    });
  });

  it('rolls updates batch by batch, waiting on signals and keeping the desired count in service', () => {
    const rolling = get(asg.UpdatePolicy, 'AutoScalingRollingUpdate') as Obj;
    expect(rolling.WaitOnResourceSignals).toBe(true);
    expect(rolling.PauseTime).toEqual({ Ref: 'SignalTimeout' });
    expect(rolling.MinInstancesInService).toEqual({ Ref: 'ApplicationDesiredCount' });
    expect(rolling.MaxBatchSize).toEqual({ Ref: 'MaxBatchSize' });
    expect(rolling.MinSuccessfulInstancesPercent ?? 100).toBe(100);
    expect(asg.UpdatePolicy?.AutoScalingReplacingUpdate).toBeUndefined();
  });

  it('suspends the processes AWS recommends for a rolling update, and never Launch or Terminate', () => {
    const suspended = get(asg.UpdatePolicy, 'AutoScalingRollingUpdate', 'SuspendProcesses') as string[];
    expect([...suspended].sort()).toEqual(['AZRebalance', 'AlarmNotification', 'HealthCheck', 'ReplaceUnhealthy', 'ScheduledActions']);
    expect(get(asg.UpdatePolicy, 'AutoScalingScheduledAction', 'IgnoreUnmodifiedGroupSizeProperties')).toBe(true);
  });

  it('bounds the signal wait by what PauseTime allows (one hour)', () => {
    const allowed = template.Parameters?.SignalTimeout?.AllowedValues as string[];
    expect(allowed).toContain(template.Parameters?.SignalTimeout?.Default);
    for (const value of allowed) {
      const m = /^PT(?:(\d+)H)?(?:(\d+)M)?$/.exec(value);
      expect(m).not.toBeNull();
      const minutes = Number(m![1] ?? 0) * 60 + Number(m![2] ?? 0);
      expect([value, minutes > 0 && minutes <= 60]).toEqual([value, true]);
    }
  });
});

describe('draining through an ECS capacity provider', () => {
  const [cpId, cp] = onlyResourceOfType('AWS::ECS::CapacityProvider');
  const provider = props(cp).AutoScalingGroupProvider as Obj;

  it('manages draining of the stack group', () => {
    expect(provider.AutoScalingGroupArn).toEqual({ Ref: asgId });
    expect(provider.ManagedDraining).toBe('ENABLED');
  });

  it('leaves the group size to the stack: no managed scaling, no managed termination protection', () => {
    expect(provider.ManagedScaling).toEqual({ Status: 'DISABLED' });
    expect(provider.ManagedTerminationProtection).toBe('DISABLED');
    expect(props(asg).NewInstancesProtectedFromScaleIn ?? false).toBe(false);
  });

  it('is associated with the cluster', () => {
    const [, association] = onlyResourceOfType('AWS::ECS::ClusterCapacityProviderAssociations');
    expect(props(association).Cluster).toEqual({ Ref: clusterId });
    expect(props(association).CapacityProviders).toEqual([{ Ref: cpId }]);
  });

  it('has no lifecycle hook of its own that could abandon the termination under the ECS hook', () => {
    expect(resourcesOfType('AWS::AutoScaling::LifecycleHook')).toEqual([]);
    expect(props(asg).LifecycleHookSpecificationList).toBeUndefined();
  });
});

describe('instance role', () => {
  const [, role] = onlyResourceOfType('AWS::IAM::Role');
  const statements = ((props(role).Policies as Obj[]) ?? []).flatMap((p) => get(p, 'PolicyDocument', 'Statement') as Obj[]);
  const actionsOf = (s: Obj) => (Array.isArray(s.Action) ? (s.Action as string[]) : [s.Action as string]);
  const statementFor = (action: string) => statements.filter((s) => actionsOf(s).includes(action));

  it('scopes cluster membership to this cluster', () => {
    for (const action of ['ecs:RegisterContainerInstance', 'ecs:DeregisterContainerInstance', 'ecs:SubmitTaskStateChange']) {
      expect(statementFor(action).map((s) => s.Resource)).toEqual([{ 'Fn::GetAtt': [clusterId, 'Arn'] }]);
    }
    for (const action of ['ecs:Poll', 'ecs:StartTelemetrySession', 'ecs:UpdateContainerInstancesState']) {
      const [resource, ...others] = statementFor(action).map((s) => s.Resource);
      expect(others).toEqual([]);
      expect(JSON.stringify(resource)).toContain('container-instance/${' + clusterId + '}/*');
    }
  });

  it('grants "*" only for the actions that AWS cannot scope, and no wildcard actions', () => {
    const star = statements.filter((s) => s.Resource === '*').flatMap(actionsOf);
    expect(star.sort()).toEqual([
      'ecr:BatchCheckLayerAvailability',
      'ecr:BatchGetImage',
      'ecr:GetAuthorizationToken',
      'ecr:GetDownloadUrlForLayer',
      'ecs:DiscoverPollEndpoint',
    ]);
    expect(statements.flatMap(actionsOf).filter((a) => a.includes('*'))).toEqual([]);
    expect(statements.every((s) => s.Effect === 'Allow')).toBe(true);
  });

  it('writes logs only under /<stack name>', () => {
    const resources = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('logs:'))).map((s) => s.Resource);
    expect(resources).toEqual([
      { 'Fn::Sub': 'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/${AWS::StackName}/*' },
    ]);
  });

  it('uses Session Manager instead of SSH', () => {
    expect(props(role).ManagedPolicyArns).toEqual([
      { 'Fn::Sub': 'arn:${AWS::Partition}:iam::aws:policy/AmazonSSMManagedInstanceCore' },
    ]);
  });
});

describe('outputs the pipeline reads', () => {
  it('names the cluster, the group and the image parameter', () => {
    expect(template.Outputs?.ClusterName?.Value).toEqual({ Ref: clusterId });
    expect(template.Outputs?.AutoScalingGroupName?.Value).toEqual({ Ref: asgId });
    expect(template.Outputs?.ImageParameterName?.Value).toBe(DEFAULT_IMAGE_PARAMETER);
  });
});

describe('parameter files', () => {
  const files = readdirSync(PARAMS_DIR).filter((f) => f.endsWith('.cfg')).sort();

  it('exist for dev and prod', () => {
    expect(files).toEqual(['dev.cfg', 'prod.cfg']);
  });

  describe.each(files)('%s', (file) => {
    const values = loadCfg(join(PARAMS_DIR, file));
    const parameters = template.Parameters ?? {};

    it('sets only template parameters, and every parameter that has no default but the image', () => {
      expect(Object.keys(values).filter((k) => !(k in parameters))).toEqual([]);
      const required = Object.entries(parameters).filter(([, p]) => p.Default === undefined).map(([k]) => k);
      // make cluster supplies the image: the stage's newest baked image on create, the stack's own on update.
      expect(required.filter((k) => !(k in values))).toEqual([DEFAULT_IMAGE_PARAMETER]);
    });

    it('satisfies the allowed values and patterns', () => {
      for (const [key, value] of Object.entries(values)) {
        const p = parameters[key]!;
        if (p.AllowedValues) expect([key, p.AllowedValues.map(String)]).toEqual([key, expect.arrayContaining([value])]);
        if (p.AllowedPattern) expect([key, new RegExp(p.AllowedPattern).test(value)]).toEqual([key, true]);
        if (p.Type === 'Number') {
          expect([key, Number.isInteger(Number(value))]).toEqual([key, true]);
          if (p.MinValue !== undefined) expect([key, Number(value) >= p.MinValue]).toEqual([key, true]);
          if (p.MaxValue !== undefined) expect([key, Number(value) <= p.MaxValue]).toEqual([key, true]);
        }
      }
    });

    it('leaves room for a batch above the desired count, which keeps capacity during a roll', () => {
      const min = Number(values.ApplicationMinSize);
      const desired = Number(values.ApplicationDesiredCount);
      const max = Number(values.ApplicationMaxSize);
      const batch = Number(values.MaxBatchSize ?? parameters.MaxBatchSize?.Default);
      expect(min).toBeLessThanOrEqual(desired);
      expect(desired + batch).toBeLessThanOrEqual(max);
    });

    it('uses obviously placeholder ids that a user must replace, and names no image', () => {
      expect(values[DEFAULT_IMAGE_PARAMETER]).toBeUndefined();
      expect(values.VpcId).toBe('vpc-0123456789abcdef0');
      for (const subnet of values.ApplicationSubnets!.split(',')) expect(subnet).toMatch(/^subnet-0123456789abcdef\d$/);
    });
  });
});

describe('deployability', () => {
  it('fits aws cloudformation deploy without an S3 bucket (51,200 bytes)', () => {
    expect(statSync(TEMPLATE_PATH).size).toBeLessThan(51_200);
  });
});
