/**
 * The real state machine definition with every real handler, against the in-memory ModelAws: what
 * the path tests, the invariant properties and `make measure` run. Only the CodeBuild build is a
 * stand-in (it registers a tagged image in the model, as Packer would in EC2).
 */
import { handler as assessWave } from '../../functions/assess-wave/handler';
import { checkSoak } from '../../functions/check-soak/handler';
import { handler as copyImage } from '../../functions/copy-image/handler';
import { handler as requestApproval } from '../../functions/request-approval/handler';
import type { RolloutState } from '../../functions/lib/decisions/rollout';
import { soakClock } from '../../local/gates';
import { handler as checkRequest } from '../../functions/check-request/handler';
import { handler as confirmRegistration } from '../../functions/confirm-registration/handler';
import { handler as checkStackUpdate } from '../../functions/check-stack-update/handler';
import { handler as findConfirmedImage } from '../../functions/find-confirmed-image/handler';
import { DEFAULT_IMAGE_PARAMETER, parameterNames, type ClusterRecord, type ClusterTarget, type Wave } from '../../functions/lib/contracts';
import { handler as notify } from '../../functions/notify/handler';
import { handler as promoteAmi } from '../../functions/promote-ami/handler';
import { handler as recordBakedAmi } from '../../functions/record-baked-ami/handler';
import { handler as releaseFleet } from '../../functions/release-fleet/handler';
import { handler as runEnded } from '../../functions/run-ended/handler';
import { handler as updateStack } from '../../functions/update-stack/handler';
import { ACCOUNT, REGION, STATE_MACHINE_ARN, STATE_MACHINE_NAME, runPipeline, type Handlers, type RunOptions, type RunOutcome, type TaskCall } from '../../local/state-machine';
import { ModelAws, actor, type StackBehaviour } from './model-aws';

export const PREFIX = '/ecs-ami-pipeline/test';
export const names = parameterNames(PREFIX);
export const LEDGER_TABLE = 'ecs-ami-pipeline-test-runs';
export const TOPIC = `arn:aws:sns:${REGION}:${ACCOUNT}:ops`;
export const OLD_BASE = 'ami-0b0b0b0b0b0b0b0b0';
export const NEW_BASE = 'ami-0c0c0c0c0c0c0c0c0';
export const NEW_ARM_BASE = 'ami-0c1c1c1c1c1c1c1c1';
export const OLDER_AMI = 'ami-09090909090909090';
export const OLD_AMI = 'ami-0a0a0a0a0a0a0a0a0';

/** The stock fleet of the path tests: dev, then prod-a and prod-b. */
export const WAVES: Wave[] = [
  { name: 'dev', clusters: [target('dev-ecs')] },
  { name: 'prod', clusters: [target('prod-a-ecs'), target('prod-b-ecs')] },
];
export const STACKS = ['dev-ecs', 'prod-a-ecs', 'prod-b-ecs'];

export function target(stackName: string): ClusterTarget {
  return { stackName, clusterName: stackName.replace(/-ecs$/, ''), imageParameter: DEFAULT_IMAGE_PARAMETER };
}

export function executionArnOf(name: string): string {
  return `arn:aws:states:${REGION}:${ACCOUNT}:execution:${STATE_MACHINE_NAME}:${name}`;
}

/** The handlers' configuration, as serverless.yml sets it. */
export function configureEnvironment(waves: Wave[] = WAVES): void {
  Object.assign(process.env, {
    AWS_REGION: REGION,
    STAGE: 'test',
    SERVICE_NAME: 'ecs-ami-pipeline',
    PARAMETER_PREFIX: PREFIX,
    CLUSTER_WAVES: JSON.stringify(waves),
    NOTIFICATION_TOPIC_ARN: TOPIC,
    RUN_LEDGER_TABLE: LEDGER_TABLE,
    MAX_ROLLOUT_MINUTES: '240',
    REGISTRATION_TIMEOUT_SECONDS: '900',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
  });
}

export interface WorldSetup {
  waves?: Wave[];
  behaviours?: Record<string, StackBehaviour>;
  /** Images the stacks run at the start (default OLD_AMI), and whether each cluster has a record of it. */
  images?: Record<string, string>;
  withoutRecords?: string[];
  /** Nothing promoted yet (a first run). */
  firstRun?: boolean;
}

/** Bake stand-ins: each build registers a new pipeline image built from the requested base. */
let bakeCounter = 0;
export function newAmiId(): string {
  bakeCounter += 1;
  return `ami-0d${bakeCounter.toString(16).padStart(15, '0')}`;
}

export interface BakeCall {
  ProjectName: string;
  EnvironmentVariablesOverride: { Name: string; Value: string; Type: string }[];
}

export class ModelWorld {
  readonly aws = new ModelAws();
  readonly waves: Wave[];
  readonly bakeCalls: BakeCall[] = [];
  readonly baked: string[] = [];
  /** The final outcome of each run, by execution ARN. */
  readonly outcomes = new Map<string, RunOutcome>();

  constructor(setup: WorldSetup = {}) {
    this.waves = setup.waves ?? WAVES;
    configureEnvironment(this.waves);
    const aws = this.aws;
    aws.publishRecommendedBase(NEW_BASE);
    aws.publishRecommendedBase(NEW_ARM_BASE, 'al2023-ami-ecs-hvm-2023.0.20261101-kernel-6.1-arm64', 'arm64');
    aws.addPipelineImage(OLDER_AMI, OLD_BASE);
    aws.addPipelineImage(OLD_AMI, OLD_BASE);
    if (!setup.firstRun) {
      aws.put(names.currentAmi, OLDER_AMI);
      aws.put(names.currentAmi, OLD_AMI);
      aws.put(names.currentBaseAmi, OLD_BASE);
    }
    for (const wave of this.waves) {
      for (const t of wave.clusters) {
        const image = setup.images?.[t.stackName] ?? OLD_AMI;
        aws.addStack(t, image, setup.behaviours?.[t.stackName] ?? {});
        if (!setup.firstRun && !setup.withoutRecords?.includes(t.stackName)) {
          const record: ClusterRecord = {
            stackName: t.stackName,
            clusterName: t.clusterName,
            amiId: image,
            purpose: 'rollout',
            runId: 'earlier-run',
            executionArn: executionArnOf('earlier-run'),
            confirmedAt: '2026-11-01T00:00:00.000Z',
          };
          aws.put(names.clusterRecord(t.stackName), JSON.stringify(record));
        }
      }
    }
  }

  restore(): void {
    this.aws.restore();
  }

  /** What each approval is answered with (default: approved by ops); set per test. */
  answerApproval: (call: TaskCall) => Promise<unknown> | unknown = () => ({
    decision: 'APPROVED',
    by: 'arn:aws:iam::123456789012:user/ops',
    reason: 'looks good',
    at: '2026-11-28T10:00:00.000Z',
  });
  /** Task tokens the approvals were given, in order. */
  readonly approvalTokens: string[] = [];


  bake(options: { fail?: boolean; exported?: boolean } = {}) {
    return async (input: BakeCall) => {
      this.bakeCalls.push(input);
      if (options.fail) {
        const build = {
          Id: 'ecs-ami-pipeline-test-bake:failed-build',
          BuildStatus: 'FAILED',
          Logs: { DeepLink: 'https://console.aws.amazon.com/cloudwatch/home#logsV2:log-groups/bake-failed' },
          Phases: [
            { PhaseType: 'INSTALL', PhaseStatus: 'SUCCEEDED' },
            { PhaseType: 'BUILD', PhaseStatus: 'FAILED', Contexts: [{ Message: 'COMMAND_EXECUTION_ERROR: packer build exited 1' }] },
          ],
        };
        // What Step Functions raises when a .sync build fails: States.TaskFailed with the build as the cause.
        const error = new Error(JSON.stringify(build));
        error.name = 'States.TaskFailed';
        throw error;
      }
      const override = (name: string) => input.EnvironmentVariablesOverride.find((v) => v.Name === name)?.Value;
      const source = override('SOURCE_AMI')!;
      const amiId = newAmiId();
      // As Packer tags it: the run's BuildId; the architecture its build was asked for.
      this.aws.addPipelineImage(amiId, source, 'available', { architecture: override('ARCHITECTURE') ?? 'x86_64', buildId: override('BUILD_ID') });
      this.baked.push(amiId);
      return {
        Build: {
          Id: `ecs-ami-pipeline-test-bake:${amiId}`,
          BuildStatus: 'SUCCEEDED',
          Logs: { DeepLink: 'https://console.aws.amazon.com/cloudwatch/home#logsV2:log-groups/bake' },
          // What makes a real build record large: its environment and phases.
          Environment: { EnvironmentVariables: input.EnvironmentVariablesOverride },
          ExportedEnvironmentVariables:
            options.exported === false
              ? []
              : [
                  { Name: 'AMI_ID', Value: amiId },
                  { Name: 'AMI_REGION', Value: REGION },
                  { Name: 'SOURCE_AMI_ID', Value: source },
                ],
        },
      };
    };
  }

  handlers(overrides: Handlers = {}): Handlers {
    return {
      checkRequest,
      recordBakedAmi,
      findConfirmedImage,
      updateStack,
      checkStackUpdate,
      confirmRegistration,
      assessWave,
      copyImage,
      requestApproval,
      // The soak runs on a clock of its own: each check is as late as the Wait before it said.
      checkSoak: (event: { rollout: RolloutState }) => checkSoak(event as never, soakClock(event.rollout)),
      promoteAmi,
      notify,
      releaseFleet,
      bake: this.bake(),
      ...overrides,
    };
  }

  /**
   * One run, as Step Functions and EventBridge would carry it: the execution is RUNNING while the
   * definition runs, takes its final status, and an abnormal end reaches the run-ended function
   * (`deliveries` times: EventBridge delivers at least once).
   */
  async run(
    input: unknown,
    name: string,
    options: { handlers?: Handlers; wrapTask?: RunOptions['wrapTask']; abortWhen?: RunOptions['abortWhen']; deliveries?: number } = {},
  ): Promise<RunOutcome> {
    const executionArn = executionArnOf(name);
    this.aws.executions.set(executionArn, { status: 'RUNNING', input: JSON.stringify(input) });
    const handlers = options.handlers ?? this.handlers();
    const outcome = await runPipeline(input, handlers, {
      executionName: name,
      executionArn,
      wrapTask: (call: TaskCall, run) =>
        actor.run({ executionArn, fn: call.key }, () => (options.wrapTask ? options.wrapTask(call, run) : run())),
      abortWhen: options.abortWhen,
      answerTask: async (token, call) => {
        this.approvalTokens.push(token);
        return this.answerApproval(call);
      },
    });
    this.outcomes.set(executionArn, outcome);
    this.aws.executions.set(executionArn, { status: outcome.status, input: JSON.stringify(input) });
    for (let i = 0; i < (options.deliveries ?? 1); i++) await this.deliverRunEnd(executionArn, outcome);
    return outcome;
  }

  async deliverRunEnd(executionArn: string, outcome: RunOutcome): Promise<unknown> {
    return actor.run({ executionArn, fn: 'runEnded' }, () =>
      runEnded({
        source: 'aws.states',
        'detail-type': 'Step Functions Execution Status Change',
        detail: {
          executionArn,
          stateMachineArn: STATE_MACHINE_ARN,
          name: executionArn.split(':').pop(),
          status: outcome.status,
          error: outcome.error?.name,
          cause: outcome.error?.message,
        },
      }),
    );
  }

  /** Messages ops received about one run (its own, and any alert about it). */
  messagesAbout(executionArn: string) {
    return this.aws.published.filter((m) => m.executionArn === executionArn);
  }

  imageOf(stackName: string): string {
    return this.aws.stacks.get(stackName)!.image;
  }

  recordOf(stackName: string): ClusterRecord | undefined {
    const raw = this.aws.value(names.clusterRecord(stackName));
    return raw ? (JSON.parse(raw) as ClusterRecord) : undefined;
  }
}
