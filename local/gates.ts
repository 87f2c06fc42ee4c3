/**
 * The demo's gates between waves (issue 13): dev soaks while an alarm and the clusters' services are
 * watched, prod waits for a person's approval, which the demo gives (or refuses) with the CLI, as ops
 * would. moto keeps real CloudWatch alarms and ECS services; what it cannot do is send a task token's
 * answer back to a run, so the run's answer is read from the run ledger, where `ami-pipeline
 * approve|reject` claims it before it calls SendTaskSuccess with the same JSON.
 */
import { runCommand, type CommandResult } from './run-command';
import path from 'node:path';
import { CloudWatchClient, PutMetricAlarmCommand, SetAlarmStateCommand } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateServiceCommand, DescribeServicesCommand, ECSClient, RegisterTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import { readApprovalWaiting } from '../functions/lib/aws/approvals';
import type { SoakSettings } from '../functions/lib/contracts/gates';
import { executionNameOf } from '../functions/lib/contracts/executions';
import { forgetTask, waitForTaskAnswer, type TaskAnswer } from './task-tokens';

/** dev soaks two minutes on its error alarm and services; prod needs approval (deploy/packaged-stages.js packages the same). */
export const DEMO_DEV_SOAK: SoakSettings = { minutes: 2, alarms: ['ecs-dev-errors'], checkServices: true, checkEverySeconds: 30 };
export const DEMO_PROD_REQUIRES_APPROVAL = true;

/** Tasks each demo service wants; moto reports every service as running this many (MOTO_SERVER_ENVIRONMENT). */
const DEMO_SERVICE_TASKS = 2;
export const MOTO_SERVER_ENVIRONMENT = { MOTO_ECS_SERVICE_RUNNING: String(DEMO_SERVICE_TASKS) };

/**
 * The alarm the dev soak watches, OK to start with, and a service on each cluster, in the cluster's
 * region (default the stage's: moto keeps ECS per region).
 */
export async function prepareGates(region: string, clusters: { clusterName: string; region?: string }[]): Promise<void> {
  const cloudwatch = new CloudWatchClient({ region });
  for (const alarm of DEMO_DEV_SOAK.alarms) {
    await cloudwatch.send(
      new PutMetricAlarmCommand({
        AlarmName: alarm,
        Namespace: 'Demo/Web',
        MetricName: 'Http5xx',
        Statistic: 'Sum',
        Period: 60,
        EvaluationPeriods: 1,
        Threshold: 5,
        ComparisonOperator: 'GreaterThanThreshold',
      }),
    );
    await setAlarm(region, alarm, 'OK', 'Threshold Crossed: no datapoint was greater than the threshold (5.0)');
  }
  const family = 'demo-web';
  const registered = new Set<string>();
  for (const { clusterName: cluster, region: clusterRegion = region } of clusters) {
    const ecs = new ECSClient({ region: clusterRegion });
    if (!registered.has(clusterRegion)) {
      await ecs.send(new RegisterTaskDefinitionCommand({ family, containerDefinitions: [{ name: 'web', image: 'public.ecr.aws/nginx/nginx:stable', memory: 128 }] }));
      registered.add(clusterRegion);
    }
    await ecs.send(new CreateServiceCommand({ cluster, serviceName: `${cluster}-web`, taskDefinition: family, desiredCount: DEMO_SERVICE_TASKS }));
    const service = (await ecs.send(new DescribeServicesCommand({ cluster, services: [`${cluster}-web`] }))).services?.[0];
    if (service?.runningCount !== DEMO_SERVICE_TASKS) {
      throw new Error(`moto reports ${service?.runningCount ?? 'no'} running tasks for ${cluster}-web: start moto_server with ${JSON.stringify(MOTO_SERVER_ENVIRONMENT)} (local/gates.ts)`);
    }
  }
}

export async function setAlarm(region: string, name: string, state: 'OK' | 'ALARM', reason: string): Promise<void> {
  await new CloudWatchClient({ region }).send(new SetAlarmStateCommand({ AlarmName: name, StateValue: state, StateReason: reason }));
}

/**
 * When a soak check runs locally: as late as the Wait before it said, so a soak of minutes passes in
 * moments (every Wait is shortened here) and each check still sees the time it would on AWS.
 */
export function soakClock(rollout: { soak?: { status: string; checkedAt?: string; nextCheckSeconds?: number } }): Date {
  const soak = rollout.soak;
  if (soak?.status === 'SOAKING' && soak.checkedAt) return new Date(Date.parse(soak.checkedAt) + (soak.nextCheckSeconds ?? 0) * 1000);
  return new Date();
}

const CLI = path.join(__dirname, '..', 'bin', 'ami-pipeline.js');

/** Runs `ami-pipeline <args>` as ops would, with this process's AWS environment (the emulator). */
export function runOpsCli(args: string[]): Promise<CommandResult> {
  return runCommand(process.execPath, [CLI, ...args]);
}

/**
 * The answer a person sends with the CLI (SendTaskSuccess, or SendTaskFailure) to this token through
 * the Step Functions proxy, as the task's output or error. A run stopped meanwhile stops waiting.
 */
export async function waitForOpsAnswer(token: string, stopped: () => boolean): Promise<unknown> {
  let poll: NodeJS.Timeout | undefined;
  const stop = new Promise<TaskAnswer>((resolve) => {
    poll = setInterval(() => {
      if (!stopped()) return;
      forgetTask(token);
      resolve({ error: 'States.Runtime', cause: 'the run was stopped while it waited for approval' });
    }, 250);
  });
  try {
    const answer = await Promise.race([waitForTaskAnswer(token), stop]);
    if ('output' in answer) return JSON.parse(answer.output) as unknown;
    throw Object.assign(new Error(answer.cause ?? answer.error), { name: answer.error });
  } finally {
    clearInterval(poll);
  }
}

export interface OpsAnswer {
  decision: 'approve' | 'reject';
  reason: string;
}

/**
 * Answers the approval a run waits for with the CLI and returns what the CLI sent with
 * SendTaskSuccess (the answer it claimed in the ledger), the task's output on AWS.
 */
export async function answerWithCli(
  options: { region: string; stage: string; table: string; executionArn: string; answer: OpsAnswer },
  log: (message: string) => void,
): Promise<unknown> {
  const run = executionNameOf(options.executionArn);
  const args = [options.answer.decision, run, '--stage', options.stage, '--yes', '--reason', options.answer.reason];
  log(`ami-pipeline ${args.map((a) => (/\s/.test(a) ? `"${a}"` : a)).join(' ')}`);
  const result = await runOpsCli(args);
  for (const text of `${result.stdout}${result.stderr}`.trim().split('\n')) if (text) log(`  ${text}`);
  if (result.code !== 0) throw new Error(`ami-pipeline ${options.answer.decision} exited ${result.code}: ${result.stderr.trim()}`);
  const waiting = await readApprovalWaiting(new DynamoDBClient({ region: options.region }), options.table, options.executionArn);
  if (!waiting?.answer) throw new Error(`ami-pipeline ${options.answer.decision} exited 0 but the run ledger holds no answer for ${run}`);
  return waiting.answer;
}

/** The region the demo's gated fleet copies its images to (packaged the same: deploy/packaged-stages.js). */
export const DEMO_COPY_REGION = 'eu-west-1';

/**
 * moto's CopyImage ignores TagSpecifications (and KmsKeyId, Encrypted, ClientToken): the harness
 * puts on the copy the tags EC2 would have, computed by the product's own copyTags.
 */
export async function tagCopyAsEc2Would(home: string, sourceAmiId: string, copy: { region: string; amiId: string }): Promise<void> {
  const { CreateTagsCommand, DescribeImagesCommand, EC2Client } = await import('@aws-sdk/client-ec2');
  const { copyTags } = await import('../functions/lib/decisions/copies');
  const { snapshotIdsOf } = await import('../functions/lib/contracts/ami');
  const source = (await new EC2Client({ region: home }).send(new DescribeImagesCommand({ ImageIds: [sourceAmiId] }))).Images?.[0];
  const regional = new EC2Client({ region: copy.region });
  // TagSpecifications name the image and its snapshots.
  const created = (await regional.send(new DescribeImagesCommand({ ImageIds: [copy.amiId] }))).Images?.[0];
  const snapshots = snapshotIdsOf(created);
  await regional.send(new CreateTagsCommand({ Resources: [copy.amiId, ...snapshots], Tags: copyTags(source?.Tags ?? [], sourceAmiId, home) }));
}
