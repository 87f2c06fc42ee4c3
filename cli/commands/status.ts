import { readApprovalWaiting } from '../../functions/lib/aws/approvals';
import { DescribeClustersCommand } from '@aws-sdk/client-ecs';
import { DescribeExecutionCommand, ListExecutionsCommand } from '@aws-sdk/client-sfn';
import { Option, type Command } from 'commander';
import { describeImage, recommendedBaseAmi } from '../../functions/lib/aws/aws-lookups';
import { baseAmiCheckState, executionStatus } from '../../functions/lib/aws/base-ami-job';
import { readClusterRecords } from '../../functions/lib/aws/cluster-records';
import { listContainerInstances } from '../../functions/lib/aws/container-instances';
import { confirmedStageImage, recommendedBaseAmiParameter, type BakedAmiRecord, type PipelineConfig, type PromotionRecord } from '../../functions/lib/contracts';
import { readLock } from '../../functions/lib/aws/run-ledger';
import { ERROR_NAMES, isAwsError } from '../../functions/lib/contracts/errors';
import { readJsonParameter, readParameter } from '../../functions/lib/aws/parameters';
import { describeStack, stackView } from '../../functions/lib/aws/stack-lookups';
import { stackParameter } from '../../functions/lib/decisions/stack';
import { allTargets } from '../../functions/lib/decisions/waves';
import { regionOf } from '../aws';
import type { Context } from '../context';
import { outcomeOf } from '../outcome';
import {
  formatStatus,
  groupInstances,
  rebuildOf,
  type ClusterStatus,
  type ExecutionRow,
  type ImageInfo,
  type StatusReport,
} from '../status-report';
import { action, examples, type CommandRunner } from '../action';
import { EXIT } from '../errors';
import { boundedInteger } from '../options';

async function imageInfo(ctx: Context, amiId: string | undefined): Promise<ImageInfo | null> {
  if (!amiId) return null;
  const image = await describeImage(ctx.clients.ec2, amiId);
  return { amiId, name: image?.Name, createdAt: image?.CreationDate };
}

async function stackOf(ctx: Context, stackName: string, imageParameter: string, region?: string): Promise<ClusterStatus['stack']> {
  let stack;
  try {
    stack = stackView(stackName, await describeStack(ctx.clientsIn(region).cfn, stackName));
  } catch (error) {
    if (isAwsError(error, ERROR_NAMES.stackNotRollable)) return null;
    throw error;
  }
  const image = stackParameter(stack, imageParameter);
  return { status: stack.status, imageId: image?.resolvedValue ?? image?.value };
}

async function clusters(ctx: Context, config: PipelineConfig, currentAmiId?: string, latestAmiId?: string): Promise<ClusterStatus[]> {
  const targets = config.waves.flatMap((wave) => wave.clusters.map((target) => ({ wave: wave.name, target })));
  if (targets.length === 0) return [];
  const records = await readClusterRecords(ctx.clients.ssm, ctx.names, allTargets(config.waves));
  // Each cluster is described in its own region (a target may name another one than the stage's).
  const statuses = new Map<string, string>();
  const key = (t: { region?: string; clusterName: string }) => `${t.region ?? ''}/${t.clusterName}`;
  for (const region of [...new Set(allTargets(config.waves).map((t) => t.region))]) {
    const names = [...new Set(allTargets(config.waves).filter((t) => t.region === region).map((t) => t.clusterName))];
    for (let i = 0; i < names.length; i += 100) {
      const out = await ctx.clientsIn(region).ecs.send(new DescribeClustersCommand({ clusters: names.slice(i, i + 100) }));
      for (const c of out.clusters ?? []) if (c.clusterName) statuses.set(key({ region, clusterName: c.clusterName }), c.status ?? 'UNKNOWN');
    }
  }
  return Promise.all(
    targets.map(async ({ wave, target }) => {
      const clusterStatus = statuses.get(key(target)) ?? 'MISSING';
      const [stack, instances] = await Promise.all([
        stackOf(ctx, target.stackName, target.imageParameter, target.region),
        clusterStatus === 'ACTIVE' ? listContainerInstances(ctx.clientsIn(target.region).ecs, target.clusterName) : Promise.resolve([]),
      ]);
      const record = records.get(target.stackName);
      return {
        wave,
        stackName: target.stackName,
        clusterName: target.clusterName,
        ...(target.region ? { region: target.region } : {}),
        stack,
        clusterStatus,
        confirmed: record ? { amiId: record.amiId, purpose: record.purpose, runId: record.runId, confirmedAt: record.confirmedAt } : null,
        onCurrent: record !== undefined && confirmedStageImage(record) === currentAmiId,
        instances: groupInstances(instances, currentAmiId, latestAmiId),
      };
    }),
  );
}

async function executions(ctx: Context, stateMachineArn: string, limit: number): Promise<ExecutionRow[]> {
  if (limit <= 0) return [];
  const listed = await ctx.clients.sfn.send(new ListExecutionsCommand({ stateMachineArn, maxResults: limit }));
  return Promise.all(
    (listed.executions ?? []).slice(0, limit).map(async (e) => {
      const described = await ctx.clients.sfn.send(new DescribeExecutionCommand({ executionArn: e.executionArn }));
      let input: { trigger?: string; requestedBy?: string } = {};
      try {
        input = JSON.parse(described.input ?? '{}') as typeof input;
      } catch {
        // Someone started it from the console with input that is not JSON; the run rejected it.
      }
      return {
        name: e.name ?? '-',
        executionArn: e.executionArn ?? '',
        status: e.status ?? 'UNKNOWN',
        result: outcomeOf({ status: described.status ?? e.status ?? 'UNKNOWN', output: described.output, error: described.error }),
        startedAt: e.startDate?.toISOString(),
        stoppedAt: e.stopDate?.toISOString(),
        trigger: typeof input.trigger === 'string' ? input.trigger : undefined,
        requestedBy: typeof input.requestedBy === 'string' ? input.requestedBy : undefined,
      };
    }),
  );
}

export async function gatherStatus(ctx: Context, executionLimit: number): Promise<StatusReport> {
  const config = await ctx.config();
  const { names, clients } = ctx;
  const newestParameter = recommendedBaseAmiParameter(config.baseAmiArchitecture);
  const [currentAmiId, currentRecord, latestAmiId, latestRecord, baseAmiId, newest, lock, region] = await Promise.all([
    readParameter(clients.ssm, names.currentAmi),
    readJsonParameter<PromotionRecord>(clients.ssm, names.currentAmiRecord),
    readParameter(clients.ssm, names.latestAmi),
    readJsonParameter<BakedAmiRecord>(clients.ssm, names.latestAmiRecord),
    readParameter(clients.ssm, names.currentBaseAmi),
    // AWS does not publish every architecture in every region: report that instead of failing.
    recommendedBaseAmi(clients.ssm, newestParameter).catch((error: Error) => error),
    readLock(clients.ddb, config.runLedgerTable),
    regionOf(clients),
  ]);
  const holderStatus = lock ? await executionStatus(clients.sfn, lock.ownerExecutionArn) : undefined;
  // A record describes its parameter's latest version only while someone has not edited one of them by hand.
  const promotion = currentRecord?.amiId === currentAmiId ? currentRecord : undefined;
  const baked = latestRecord?.amiId === latestAmiId ? latestRecord : undefined;
  const newestAmiId = newest instanceof Error ? undefined : newest.imageId;
  const [current, latest, base, newestImage, clusterStatuses, runs] = await Promise.all([
    imageInfo(ctx, currentAmiId),
    imageInfo(ctx, latestAmiId),
    imageInfo(ctx, baseAmiId),
    imageInfo(ctx, newestAmiId),
    clusters(ctx, config, currentAmiId, latestAmiId),
    executions(ctx, config.stateMachineArn, executionLimit),
  ]);
  // A running run's wave that asked for approval and has no answer yet (one GetItem per running run listed).
  const waiting = (
    await Promise.all(
      runs.filter((r) => r.status === 'RUNNING').map(async (r) => {
        const wait = await readApprovalWaiting(ctx.clients.ddb, config.runLedgerTable, r.executionArn).catch(() => undefined);
        return wait && !wait.answer && Date.parse(wait.expiresAt) > Date.now()
          ? [{ run: r.name, wave: wait.wave, amiId: wait.amiId, clusters: wait.clusters, requestedAt: wait.requestedAt, expiresAt: wait.expiresAt }]
          : [];
      }),
    )
  ).flat();
  return {
    stage: ctx.stage,
    region,
    parameterPrefix: ctx.parameterPrefix,
    waiting,
    stateMachineArn: config.stateMachineArn,
    current: current && {
      ...current,
      promotedAt: promotion?.promotedAt,
      executionArn: promotion?.executionArn,
      baseAmiId: promotion?.baseAmiId,
      reason: promotion?.reason,
    },
    latest: latest && {
      ...latest,
      recordedAt: baked?.recordedAt,
      executionArn: baked?.executionArn,
      baseAmiId: baked?.baseAmiId,
      promoted: latest.amiId === currentAmiId,
    },
    base,
    newestBase:
      newest instanceof Error
        ? null
        : { amiId: newest.imageId, name: newest.imageName ?? newestImage?.name, createdAt: newestImage?.createdAt, parameter: newestParameter },
    rebuild:
      newest instanceof Error
        ? { due: null, reason: `unknown: ${newestParameter} could not be read (${newest.name}: ${newest.message})` }
        : rebuildOf(
            // The scheduled check's own view, so status and check never disagree.
            await baseAmiCheckState(
              clients,
              {
                stateMachineArn: config.stateMachineArn,
                parameterPrefix: ctx.parameterPrefix,
                architecture: config.baseAmiArchitecture,
                runLedgerTable: config.runLedgerTable,
                maxAttempts: config.baseAmiMaxAttempts,
              },
              new Date(),
              newest,
            ),
          ),
    fleetLock: lock ? { ...lock, ownerStatus: holderStatus ?? 'gone' } : null,
    clusters: clusterStatuses,
    executions: runs,
    checkedAt: new Date().toISOString(),
  };
}

const status: CommandRunner<{ json?: boolean; runs: number }> = async (ctx, options) => {
  const report = await gatherStatus(ctx, options.runs);
  ctx.print(options.json ? JSON.stringify(report, null, 2) : formatStatus(report, new Date(), ctx.style));
  return EXIT.ok;
};

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('show where the stage stands: its images, the newest base AMI, every cluster and the last runs')
    .option('--json', 'print the report as JSON (for scripts)')
    // One DescribeExecution per run listed: a screenful, not the whole history.
    .addOption(new Option('--runs <count>', 'how many recent runs to list (0-50)').default(5).argParser(boundedInteger(0, 50)))
    .addHelpText(
      'after',
      examples('ami-pipeline status', 'ami-pipeline status --stage prod --region eu-west-1', "ami-pipeline status --json | jq '.clusters[] | {stackName, instances}'"),
    )
    .action(action(status));
}
