/**
 * An emulated AWS account with the pipeline deployed and two cluster stacks (dev and prod waves)
 * running the ECS-optimized base AMI, on a moto_server (optionally a third in prod's wave in another
 * region: local/regional-cluster.ts). The functions are the real handler code,
 * run in-process with only their endpoints pointed at the emulator (CloudFormation through the
 * proxy that simulates rolling updates); the state machine is the real definition.
 */
import { snapshotIdsOf } from '../functions/lib/contracts/ami';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateImageCommand,
  CreateKeyPairCommand,
  CreateSecurityGroupCommand,
  CreateTagsCommand,
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import { recommendedBaseAmi } from '../functions/lib/aws/aws-lookups';
import {
  BAKE_INSTANCE_PURPOSE,
  BAKE_INSTANCE_TAGS,
  BUILD_PROJECT_ENV,
  DEFAULT_IMAGE_PARAMETER,
  MANAGED_BY_VALUE,
  LAMBDA_ENV,
  parameterNames,
  recommendedBaseAmiParameter,
  type ParameterNames,
  type Wave,
} from '../functions/lib/contracts';
import type { BaseAmiCheckResult } from '../functions/lib/aws/base-ami-job';
import { parameterHistory, readParameter } from '../functions/lib/aws/parameters';
import { readLock } from '../functions/lib/aws/run-ledger';
import { startCloudFormationProxy, type CloudFormationProxy } from './cloudformation-proxy';
import { deployClusterStack, fleetClients, groupInstances, type DeployedClusterStack, type FleetClients } from './cluster-stack';
import { simulatedBake } from './codebuild';
import { deployPipeline, receivedMessages, type EmulatedDeployment, type OpsMessage } from './deployment';
import { SimulatedEcsAgents, type SimulatedEcsAgent } from './ecs-agent';
import { ARM_CLUSTER, armClusterTarget, deployArmCluster } from './arm-cluster';
import { deployRegionalCluster, REGIONAL_CLUSTER, REGIONAL_CLUSTER_ENV, regionalClusterRequested, regionalClusterTarget } from './regional-cluster';
import { ExecutionRecords } from './execution-records';
import type { Moto } from './moto';
import { SimulatedRollingUpdates, type ImageBehaviour } from './rolling-update';
import { allStates, runPipeline, substitutedDefinition, type Handlers, type RunEvent, type RunOutcome } from './state-machine';
import { DEMO_COPY_REGION, DEMO_DEV_SOAK, DEMO_PROD_REQUIRES_APPROVAL, answerWithCli, tagCopyAsEc2Would, prepareGates, setAlarm, soakClock, waitForOpsAnswer, type OpsAnswer } from './gates';
import type { RolloutState } from '../functions/lib/decisions/rollout';
import type { RetainImagesResult } from '../functions/retain-images/handler';

/** One line for a retention pass, for the demo's timeline. */
export function describeRetention(result: RetainImagesResult): string {
  const verb = result.mode === 'delete' ? 'deregistered' : 'would deregister';
  const gone = result.mode === 'delete' ? result.deregistered : result.wouldDeregister.map((w) => w.imageId);
  return `${result.status}: ${verb} ${gone.length ? gone.join(', ') : 'nothing'}; kept ${result.kept.length}` +
    (result.terminated.length ? `; terminated ${result.terminated.join(', ')}` : '') +
    (result.bakeResourcesDeleted.length ? `; deleted bake leftovers ${result.bakeResourcesDeleted.join(', ')}` : '') +
    (result.deprecated.length ? `; deprecated ${result.deprecated.join(', ')}` : '') +
    (result.failures.length ? `; failed: ${result.failures.join('; ')}` : '') +
    (result.warnings.length ? `; not done: ${emulatorGaps(result.warnings).join('; ')}` : '');
}

/** moto answers EnableImageDeprecation with an HTML error page: say so instead of the raw warning. */
function emulatorGaps(warnings: string[]): string[] {
  const deprecations = warnings.filter((w) => /^deprecate ami-\S+: the endpoint answered HTTP 500/.test(w));
  const rest = warnings.filter((w) => !deprecations.includes(w));
  return deprecations.length
    ? [`deprecating ${deprecations.map((w) => w.split(' ')[1]!.replace(/:$/, '')).join(', ')} (moto does not implement EnableImageDeprecation; unit tests check the request)`, ...rest]
    : rest;
}

export const SCENARIOS = [
  'success',
  'build-fails',
  'registration-timeout',
  'stack-update-fails',
  'partial-run',
  'concurrent',
  'retention',
  'approval-rejected',
  'alarm-during-soak',
] as const;
export type Scenario = (typeof SCENARIOS)[number];

/** How the images this run bakes behave, per scenario (the base AMI always boots fine). */
const BAKED_IMAGE_BEHAVIOUR: Record<Scenario, ImageBehaviour> = {
  success: 'healthy',
  'build-fails': 'healthy',
  'registration-timeout': 'never-registers',
  'stack-update-fails': 'never-signals',
  'partial-run': 'healthy',
  concurrent: 'healthy',
  retention: 'healthy',
  'approval-rejected': 'healthy',
  'alarm-during-soak': 'healthy',
};

/** Scenarios whose fleet has the gates (dev soaks, prod needs approval), and how ops answer prod's approval. */
const GATED: Partial<Record<Scenario, OpsAnswer>> = {
  success: { decision: 'approve', reason: 'dev soaked clean' },
  'approval-rejected': { decision: 'reject', reason: 'change freeze until Monday' },
  'alarm-during-soak': { decision: 'approve', reason: 'dev soaked clean' },
};

/** At which check of dev's soak its alarm goes off (alarm-during-soak). */
const ALARM_AT_CHECK = 2;

export type Log = (source: string, message: string) => void;

/** Runs `fn` as `actor` (a function key): the IAM evaluation attributes the calls made inside to its role. */
export type ActAs = <T>(actor: string, fn: () => T) => T;

export interface WorldOptions {
  scenario: Scenario;
  /** How the harness marks which function makes a call (the IAM call recorder's withActor); default: not at all. */
  actAs?: ActAs;
  stage?: string;
  log?: Log;
  /** Pipeline deadline for ECS registration (the deployed default is 900 s). */
  registrationTimeoutSeconds?: number;
  /** Pause of each Wait state and Retry of the state machine, and of each simulated CloudFormation step. */
  pauseMs?: number;
  /**
   * Who answers a wave's approval: `cli`, the demo, as ops would (default); `wait`, a person with
   * `ami-pipeline approve|reject` through the Step Functions proxy (make up).
   */
  approvals?: 'cli' | 'wait';
  /**
   * A gated scenario's fleet gets ecs-prod-eu, prod's cluster in the region the images are copied to
   * (local/regional-cluster.ts). Default: DEMO_REGIONAL_CLUSTER=1 in the environment.
   */
  regionalCluster?: boolean;
}

export interface ClusterState {
  region: string;
  stackName: string;
  clusterName: string;
  instances: { ec2InstanceId: string; amiId: string; ecsStatus: string }[];
}

export interface ParameterState {
  name: string;
  value?: string;
  history: string[];
}

export class World {
  private constructor(
    readonly moto: Moto,
    readonly options: Required<Omit<WorldOptions, 'log'>> & { log: Log },
    readonly deployment: EmulatedDeployment,
    readonly stacks: DeployedClusterStack[],
    readonly baseAmiId: string,
    /** The ECS agents, one per region a cluster is in. */
    readonly agents: SimulatedEcsAgents,
    readonly updates: SimulatedRollingUpdates,
    private readonly proxy: CloudFormationProxy,
    /** Images the simulated builds made, in order. */
    readonly bakedAmis: string[],
    private readonly fleet: FleetClients,
  ) {}

  static async create(moto: Moto, options: WorldOptions): Promise<World> {
    const settings = {
      stage: 'demo',
      registrationTimeoutSeconds: 3,
      pauseMs: 100,
      approvals: 'cli' as const,
      log: () => undefined,
      actAs: (<T>(_actor: string, fn: () => T) => fn()) as ActAs,
      // The gated fleet has prod's third cluster in the copy region (DEMO_REGIONAL_CLUSTER=0 leaves it out).
      regionalCluster: GATED[options.scenario] !== undefined ? process.env[REGIONAL_CLUSTER_ENV] !== '0' : regionalClusterRequested(),
      ...options,
    };
    // Only a gated fleet copies its images to another region: nothing else could run a cluster there.
    if (settings.regionalCluster && GATED[settings.scenario] === undefined) {
      throw new Error(
        `the regional cluster (regionalCluster, ${REGIONAL_CLUSTER_ENV}=1) needs a gated scenario (${Object.keys(GATED).join(', ')}), not ${settings.scenario}`,
      );
    }
    const region = moto.region;
    Object.assign(process.env, moto.env, {
      POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'SILENT',
      // The functions' metrics are log lines on AWS; here they would only interleave with the timeline.
      POWERTOOLS_METRICS_DISABLED: process.env.POWERTOOLS_METRICS_DISABLED ?? 'true',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    });

    const baked: string[] = [];
    const agents = new SimulatedEcsAgents(region);
    const updates = new SimulatedRollingUpdates({
      motoEndpoint: moto.endpoint,
      region,
      agents,
      imageBehaviour: (amiId) => (baked.includes(amiId) ? BAKED_IMAGE_BEHAVIOUR[settings.scenario] : 'healthy'),
      log: (stackName, message) => settings.log('cloudformation', `${stackName}: ${message}`),
      stepMs: settings.pauseMs,
    });
    const proxy = await startCloudFormationProxy(moto.endpoint, updates);
    process.env.AWS_ENDPOINT_URL_CLOUDFORMATION = proxy.endpoint;

    const baseAmiId = (await recommendedBaseAmi(new SSMClient({ region }), recommendedBaseAmiParameter('x86_64'))).imageId;
    const fleet = fleetClients(region);

    // The reference stack names its cluster after itself, so the waves are known before it exists.
    const stages = ['dev', 'prod'] as const;
    const gated = GATED[settings.scenario] !== undefined;
    const waves: Wave[] = stages.map((stage) => ({
      name: stage,
      clusters: [
        { stackName: `ecs-${stage}`, clusterName: `ecs-${stage}`, imageParameter: DEFAULT_IMAGE_PARAMETER },
        ...(settings.regionalCluster && stage === REGIONAL_CLUSTER.wave ? [regionalClusterTarget()] : []),
        ...(gated && stage === ARM_CLUSTER.wave ? [armClusterTarget()] : []),
      ],
      ...(gated && stage === 'dev' ? { soak: DEMO_DEV_SOAK } : {}),
      ...(gated && stage === 'prod' ? { requireApproval: DEMO_PROD_REQUIRES_APPROVAL } : {}),
    }));
    const deployment = await deployPipeline({ stage: settings.stage, region, waves, copyToRegions: gated ? [{ region: DEMO_COPY_REGION }] : [] });
    Object.assign(process.env, deployment.lambdaEnvironment, {
      [LAMBDA_ENV.registrationTimeoutSeconds]: String(settings.registrationTimeoutSeconds),
    });
    settings.log(
      'setup',
      `pipeline deployed: state machine ${deployment.config.stateMachineArn.split(':').pop()}, waves dev -> prod` +
        (gated
          ? ` (each image copied to ${DEMO_COPY_REGION}${settings.regionalCluster ? `, where prod has ${REGIONAL_CLUSTER.stackName}` : ''}; dev soaks ${DEMO_DEV_SOAK.minutes} min on alarm ${DEMO_DEV_SOAK.alarms.join(', ')} and its services; prod needs approval)`
          : ''),
    );

    const stacks: DeployedClusterStack[] = [];
    const world = new World(moto, settings, deployment, stacks, baseAmiId, agents, updates, proxy, baked, fleet);

    // A first deployment, in the order the README gives: bake without touching a cluster (a dry
    // run), then create the cluster stacks on that image. The stock image has no first-run script.
    world.settingUp = true;
    const dryRun = await world.startExecution(`setup-dry-run-${Date.now()}`, { trigger: 'manual', dryRun: true, requestedBy: 'demo setup', reason: 'first image' });
    const setup = await world.runExecution(dryRun);
    world.settingUp = false;
    const firstImage = await readParameter(new SSMClient({ region }), world.names.latestAmi);
    if (setup.status !== 'SUCCEEDED' || !firstImage) throw new Error(`the setup's dry run did not bake an image: ${setup.error?.message ?? setup.status}`);
    world.firstImage = firstImage;
    world.firstArmImage = (await readParameter(new SSMClient({ region }), world.names.latestAmiFor('arm64'))) ?? '';
    settings.log('setup', `first image baked by a dry run: ${firstImage} (ami/latest), as a new user does before creating clusters`);
    await receivedMessages(deployment.queueUrl, region);

    for (const stage of stages) {
      const stack = await deployClusterStack({ region, stackName: `ecs-${stage}`, stage, imageId: firstImage });
      if (stack.clusterName !== `ecs-${stage}`) throw new Error(`the reference stack named its cluster ${stack.clusterName}, not ecs-${stage}`);
      // The image's agents join their cluster at boot.
      for (const instance of await groupInstances(fleet, stack.autoScalingGroupName)) {
        await agents.in(region).register(stack.clusterName, instance.id);
      }
      settings.log('setup', `cluster stack ${stack.stackName}: ${stack.parameters.ApplicationDesiredCount} instance(s) on ${firstImage}, registered with ECS`);
      stacks.push(stack);
    }
    if (settings.regionalCluster) {
      const stack = await deployRegionalCluster({ names: world.names, firstImage, agents });
      settings.log(
        'setup',
        `cluster stack ${stack.stackName} in ${stack.region}: ${stack.parameters.ApplicationDesiredCount} instance(s) on ${stack.parameters[DEFAULT_IMAGE_PARAMETER]}, ` +
          `the copy of ${firstImage} there (its ami/latest), registered with ECS`,
      );
      stacks.push(stack);
    }
    if (gated) {
      const arm = await deployArmCluster({ region, names: world.names, agents });
      settings.log('setup', `cluster stack ${arm.stackName}: ${arm.parameters.ApplicationDesiredCount} arm64 instance(s) (${arm.parameters.InstanceType}) on ${arm.parameters[DEFAULT_IMAGE_PARAMETER]}, the dry run's arm64 image (ami/arm64/latest), registered with ECS`);
      stacks.push(arm);
      await prepareGates(region, stacks);
      settings.log('setup', `alarm ${DEMO_DEV_SOAK.alarms.join(', ')} is OK; each cluster runs a service, web, at 2 of 2 tasks`);
    }
    return world;
  }

  /** True while the setup bakes the first image: that one is healthy in every scenario. */
  settingUp = false;
  /** The image the setup baked and created the cluster stacks on. */
  firstImage = '';
  /** The arm64 image the setup's dry run baked for the Graviton cluster (gated scenarios), or ''. */
  firstArmImage = '';
  /** What every run this world ran really did (moto only knows RUNNING and ABORTED), for the Step Functions proxy. */
  readonly executions = new ExecutionRecords();
  private stateTypes?: Map<string, string>;

  /** Where the functions' CloudFormation calls go: the proxy that shows the simulated rolling updates. */
  get cloudFormationEndpoint(): string {
    return this.proxy.endpoint;
  }

  get region(): string {
    return this.moto.region;
  }

  /** The ECS agent of the stage's region. */
  get agent(): SimulatedEcsAgent {
    return this.agents.in(this.region);
  }

  get names(): ParameterNames {
    return parameterNames(this.deployment.parameterPrefix);
  }

  /** The real handlers, imported only now: their clients read the endpoints set up above. */
  async handlers(): Promise<Handlers> {
    const [requestApproval, checkSoak, copyImage] = await Promise.all([
      import('../functions/request-approval/handler'),
      import('../functions/check-soak/handler'),
      import('../functions/copy-image/handler'),
    ]);
    const [checkRequest, recordBakedAmi, findConfirmedImage, updateStack, checkStackUpdate, confirmRegistration, assessWave, promoteAmi, notify, releaseFleet] =
      await Promise.all([
        import('../functions/check-request/handler'),
        import('../functions/record-baked-ami/handler'),
        import('../functions/find-confirmed-image/handler'),
        import('../functions/update-stack/handler'),
        import('../functions/check-stack-update/handler'),
        import('../functions/confirm-registration/handler'),
        import('../functions/assess-wave/handler'),
        import('../functions/promote-ami/handler'),
        import('../functions/notify/handler'),
        import('../functions/release-fleet/handler'),
      ]);
    return {
      checkRequest: checkRequest.handler,
      recordBakedAmi: recordBakedAmi.handler,
      findConfirmedImage: findConfirmedImage.handler,
      updateStack: updateStack.handler,
      checkStackUpdate: checkStackUpdate.handler,
      confirmRegistration: confirmRegistration.handler,
      assessWave: assessWave.handler,
      requestApproval: requestApproval.handler,
      copyImage: copyImage.handler,
      // A soak takes minutes: each check runs as late as the Wait before it said, on a clock of its own.
      checkSoak: (event: { rollout: RolloutState }) => checkSoak.checkSoak(event as never, soakClock(event.rollout)),
      promoteAmi: promoteAmi.handler,
      notify: notify.handler,
      releaseFleet: releaseFleet.handler,
      bake: simulatedBake({
        region: this.region,
        projectEnvironment: {
          [BUILD_PROJECT_ENV.amiNamePrefix]: this.deployment.lambdaEnvironment[LAMBDA_ENV.amiNamePrefix]!,
          [BUILD_PROJECT_ENV.stage]: this.options.stage,
          [BUILD_PROJECT_ENV.timezone]: 'UTC',
          [BUILD_PROJECT_ENV.packerAssetsSha256]: '0'.repeat(64),
        },
        fail: this.options.scenario === 'build-fails' && !this.settingUp,
        log: (message) => this.options.log('codebuild', message),
        // The images the scenario's runs bake; the setup's first image behaves well in every scenario.
        onBaked: (amiId) => {
          if (!this.settingUp) this.bakedAmis.push(amiId);
        },
      }),
    };
  }

  /** What EventBridge's run-end rule does when an execution ends: invoke run-ended with the status-change event. */
  async deliverRunEnd(executionArn: string, status: string, error?: { name: string; message: string }): Promise<unknown> {
    const { handler } = await import('../functions/run-ended/handler');
    return this.options.actAs('runEnded', () => handler({
      source: 'aws.states',
      'detail-type': 'Step Functions Execution Status Change',
      detail: {
        executionArn,
        stateMachineArn: this.deployment.config.stateMachineArn,
        name: executionArn.split(':').pop(),
        status,
        error: error?.name,
        cause: error?.message,
      },
    }));
  }

  /** Starts an execution in the emulator, as the CLI or a schedule does; run it with runExecution. */
  async startExecution(name: string, input: Record<string, unknown>): Promise<string> {
    const sfn = new SFNClient({ region: this.region });
    const started = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: this.deployment.config.stateMachineArn, name, input: JSON.stringify(input) }),
    );
    return started.executionArn!;
  }

  /** The record of the image a cluster last confirmed. */
  async confirmedImage(stackName: string): Promise<string | undefined> {
    const raw = await this.parameter(this.names.clusterRecord(stackName));
    return raw ? (JSON.parse(raw) as { amiId?: string }).amiId : undefined;
  }

  /** The scheduled base-AMI check, as EventBridge would invoke it. */
  async runCheckJob(): Promise<BaseAmiCheckResult> {
    const { handler } = await import('../functions/check-base-ami/handler');
    return this.options.actAs('checkBaseAmi', () => handler({ source: 'aws.events', 'detail-type': 'Scheduled Event' }));
  }

  /**
   * Runs an execution that was started in the emulator (by the check job or the CLI) with the real
   * definition, in-process, then stops it there: moto can only record RUNNING or ABORTED, and a
   * finished run must not count as in flight for the next one.
   */
  async runExecution(executionArn: string, onEvent?: (event: RunEvent) => void): Promise<RunOutcome> {
    const sfn = new SFNClient({ region: this.region });
    const execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    const record = this.executions.begin({
      executionArn,
      stateMachineArn: execution.stateMachineArn ?? this.deployment.config.stateMachineArn,
      name: execution.name ?? executionArn.split(':').pop()!,
      input: execution.input ?? '{}',
      startDate: execution.startDate ?? new Date(),
    });
    this.stateTypes ??= new Map([...allStates(substitutedDefinition(this.deployment.names))].map(([name, state]) => [name, state.Type]));
    const stateTypes = this.stateTypes;
    const outcome = await runPipeline(JSON.parse(execution.input ?? '{}'), await this.handlers(), {
      names: this.deployment.names,
      executionArn,
      executionName: execution.name,
      startTime: execution.startDate?.toISOString(),
      waitMs: this.options.pauseMs,
      retryMs: this.options.pauseMs,
      onEvent: (event) => {
        // The run's own history: on AWS the Distributed Map's iterations (those with an index) are child executions.
        if (event.type === 'StateEntered' && event.index === undefined) {
          this.executions.entered(executionArn, { name: event.state, stateType: stateTypes.get(event.state) ?? 'Task', input: event.input });
        }
        onEvent?.(event);
      },
      // The build runs with CodeBuild's role, not a function's: its simulated calls are the harness's.
      wrapTask: async (call, run) => {
        if (call.state === 'Check the wave while it soaks' && call.call === ALARM_AT_CHECK && this.options.scenario === 'alarm-during-soak') {
          const reason = 'Threshold Crossed: 1 datapoint [12.0 (28/11/26 10:02:00)] was greater than the threshold (5.0)';
          await setAlarm(this.region, DEMO_DEV_SOAK.alarms[0]!, 'ALARM', reason);
          this.options.log('cloudwatch', `alarm ${DEMO_DEV_SOAK.alarms[0]} goes to ALARM: ${reason}`);
        }
        const result = await (call.key === 'bake' ? run() : this.options.actAs(call.key, run));
        if (call.state === 'Start the copy') {
          const copy = result as { region: string; amiId: string };
          await tagCopyAsEc2Would(this.region, call.input.baked.amiId, copy);
          this.options.log('ec2', `copying ${call.input.baked.amiId} to ${copy.region}: ${copy.amiId}`);
        }
        return result;
      },
      answerTask: async (token) => {
        // make up: a person answers with the CLI, through the Step Functions proxy.
        if (this.options.approvals === 'wait') return waitForOpsAnswer(token, () => record.stopRequested);
        // The demo answers as ops would, with the CLI.
        const answer = GATED[this.options.scenario];
        if (!answer) throw new Error(`scenario ${this.options.scenario} has no approval to answer`);
        const log = (message: string) => this.options.log('ops (CLI)', message);
        return answerWithCli({ region: this.region, stage: this.options.stage, table: this.deployment.config.runLedgerTable, executionArn, answer }, log);
      },
      // A StopExecution through the Step Functions proxy: the run stops before its next task.
      abortWhen: () => record.stopRequested,
    });
    this.executions.end(executionArn, outcome);
    await this.updates.idle();
    await sfn.send(new StopExecutionCommand({ executionArn, cause: `ran in-process: ${outcome.status}` }));
    // On AWS every end raises the status-change event the run-end rule forwards to run-ended...
    await this.deliverRunEnd(executionArn, outcome.status, outcome.error);
    // ... and a successful end, the event the retention rule forwards to retain-images.
    if (outcome.status === 'SUCCEEDED' && !this.settingUp) {
      const retention = await this.runRetention();
      this.options.log('retention', describeRetention(retention));
    }
    return outcome;
  }

  /**
   * A retention pass, as the daily schedule or a run's end invokes it; `daysLater` runs it with a
   * clock that many days ahead (images here are minutes old, the grace period is days).
   */
  async runRetention(options: { dryRun?: boolean; daysLater?: number } = {}): Promise<RetainImagesResult> {
    const { retainImages } = await import('../functions/retain-images/handler');
    const now = new Date(Date.now() + (options.daysLater ?? 0) * 86_400_000);
    return this.options.actAs('retainImages', () => retainImages(options.dryRun ? { dryRun: true } : { source: 'aws.scheduler' }, now));
  }

  /**
   * What a bake killed half-way leaves (CodeBuild stopped, or timed out, before Packer cleaned up):
   * its temporary security group and key pair, its build instance, still running, and an image tagged
   * only with the template's run_tags (Packer tags all of them with run_tags at creation).
   */
  async simulateKilledBake(buildId: string): Promise<{ instanceId: string; imageId: string; securityGroupId: string; keyName: string }> {
    const runTags = [
      { Key: BAKE_INSTANCE_TAGS.managedBy, Value: MANAGED_BY_VALUE },
      { Key: BAKE_INSTANCE_TAGS.stage, Value: this.options.stage },
      { Key: BAKE_INSTANCE_TAGS.buildId, Value: buildId },
      { Key: BAKE_INSTANCE_TAGS.purpose, Value: BAKE_INSTANCE_PURPOSE },
    ];
    const ec2 = this.fleet.ec2;
    const keyName = `packer_${buildId}`;
    await ec2.send(new CreateKeyPairCommand({ KeyName: keyName, TagSpecifications: [{ ResourceType: 'key-pair', Tags: runTags }] }));
    const securityGroupId = (
      await ec2.send(
        new CreateSecurityGroupCommand({
          GroupName: `packer_${buildId}`,
          Description: 'Temporary group for Packer',
          TagSpecifications: [{ ResourceType: 'security-group', Tags: runTags }],
        }),
      )
    ).GroupId!;
    const instanceId = (
      await ec2.send(
        new RunInstancesCommand({
          ImageId: this.baseAmiId,
          MinCount: 1,
          MaxCount: 1,
          InstanceType: 't3.medium',
          TagSpecifications: [{ ResourceType: 'instance', Tags: runTags }],
        }),
      )
    ).Instances![0]!.InstanceId!;
    const prefix = this.deployment.lambdaEnvironment[LAMBDA_ENV.amiNamePrefix];
    const imageId = (
      await ec2.send(
        new CreateImageCommand({ InstanceId: instanceId, Name: `${prefix}-killed-${Date.now()}`, TagSpecifications: [{ ResourceType: 'image', Tags: runTags }] }),
      )
    ).ImageId!;
    // Packer's CreateImage tags the snapshots with the run_tags too; moto needs it done apart.
    const snapshots = snapshotIdsOf((await ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images?.[0]);
    if (snapshots.length) await ec2.send(new CreateTagsCommand({ Resources: snapshots, Tags: runTags }));
    return { instanceId, imageId, securityGroupId, keyName };
  }

  /** A team's own cluster stack, outside the pipeline's waves, pinned to an image (in `region`, default the stage's). */
  async deployPinnedStack(stackName: string, imageId: string, region: string = this.region): Promise<DeployedClusterStack> {
    const stack = await deployClusterStack({ region, stackName, stage: 'dev', imageId });
    for (const instance of await groupInstances(region, stack.autoScalingGroupName)) await this.agents.in(region).register(stack.clusterName, instance.id);
    return stack;
  }

  /** The stage's images as EC2 lists them now (deregistered ones are gone), with their snapshots. */
  async stageImages(): Promise<{ imageId: string; snapshots: string[]; deprecated: boolean }[]> {
    const { ownImages } = await import('../functions/lib/aws/image-inventory');
    return (await ownImages(this.fleet.ec2, this.options.stage, '')).stage.map((i) => ({ imageId: i.imageId, snapshots: i.snapshotIds, deprecated: i.deprecated }));
  }

  /** Which of these snapshots still exist. */
  async existingSnapshots(snapshotIds: string[]): Promise<string[]> {
    if (!snapshotIds.length) return [];
    const out = await this.fleet.ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'] }));
    return (out.Snapshots ?? []).map((s) => s.SnapshotId!).filter((id) => snapshotIds.includes(id));
  }

  /** A parameter's value, or undefined. */
  async parameter(name: string): Promise<string | undefined> {
    return readParameter(new SSMClient({ region: this.region }), name);
  }

  /** Who holds the fleet lock now. */
  async lockHolder(): Promise<string | undefined> {
    return (await readLock(new DynamoDBClient({ region: this.region }), this.deployment.config.runLedgerTable))?.ownerExecutionArn;
  }

  async parameters(): Promise<ParameterState[]> {
    const ssm = new SSMClient({ region: this.region });
    const names = this.names;
    return Promise.all(
      [names.currentAmi, names.latestAmi, names.currentBaseAmi].map(async (name) => {
        const history = (await parameterHistory(ssm, name)).map((v) => v.value);
        return { name, value: history.at(-1), history };
      }),
    );
  }

  /** `ami/latest` in each region the stage copies its images to, with its history. */
  async regionalLatest(): Promise<(ParameterState & { region: string })[]> {
    const regions = JSON.parse(this.deployment.lambdaEnvironment[LAMBDA_ENV.copyToRegions] ?? '[]') as { region: string }[];
    return Promise.all(
      regions.map(async ({ region }) => {
        const history = (await parameterHistory(new SSMClient({ region }), this.names.latestAmi)).map((v) => v.value);
        return { region, name: this.names.latestAmi, value: history.at(-1), history };
      }),
    );
  }

  async clusters(): Promise<ClusterState[]> {
    return Promise.all(
      this.stacks.map(async (stack) => {
        const registered = await this.agents.in(stack.region).instances(stack.clusterName);
        const fleet = stack.region === this.region ? this.fleet : fleetClients(stack.region);
        const instances = (await groupInstances(fleet, stack.autoScalingGroupName)).map((i) => ({
          ec2InstanceId: i.id,
          amiId: i.imageId,
          ecsStatus: registered.find((r) => r.ec2InstanceId === i.id)?.status ?? 'not registered',
        }));
        return { region: stack.region, stackName: stack.stackName, clusterName: stack.clusterName, instances };
      }),
    );
  }

  /** What ops received since the last call. */
  async opsMessages(): Promise<OpsMessage[]> {
    return receivedMessages(this.deployment.queueUrl, this.region);
  }

  async close(): Promise<void> {
    await this.updates.idle();
    await this.proxy.stop();
  }
}
