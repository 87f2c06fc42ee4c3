import { decideBaseAmiCheck, type BaseAmiCheckState } from '../functions/lib/decisions/base-ami-check';
import type { ClusterRecord } from '../functions/lib/contracts';
import type { ContainerInstanceView } from '../functions/lib/decisions/registration';
import { describeResult, type RunResult } from './outcome';
import type { Style } from './style';
import { table, executionNameOf } from './text';
import { formatTime, formatTimeWithAge } from './time';

/** What `status` reports; `--json` prints exactly this. */
export interface StatusReport {
  stage: string;
  region: string;
  parameterPrefix: string;
  stateMachineArn: string;
  current: (ImageInfo & { promotedAt?: string; executionArn?: string; baseAmiId?: string; reason?: string }) | null;
  latest: (ImageInfo & { recordedAt?: string; executionArn?: string; baseAmiId?: string; promoted: boolean }) | null;
  base: ImageInfo | null;
  newestBase: (ImageInfo & { parameter: string }) | null;
  rebuild: Rebuild;
  /** The run holding the fleet, if any, and its execution's status. */
  fleetLock: { ownerExecutionArn: string; acquiredAt: string; ownerStatus: string } | null;
  clusters: ClusterStatus[];
  executions: ExecutionRow[];
  /** Waves of running runs that wait for a person's approval (the run ledger's approval items). */
  waiting: { run: string; wave: string; amiId: string; clusters: string[]; requestedAt: string; expiresAt: string }[];
  checkedAt: string;
}

export interface ImageInfo {
  amiId: string;
  name?: string;
  createdAt?: string;
}

export interface Rebuild {
  /** null when the newest base could not be read. */
  due: boolean | null;
  reason: string;
  runningExecutionArn?: string;
}

export type ImageRole = 'current' | 'latest' | 'other';

export interface InstanceGroup {
  amiId: string | null;
  image: ImageRole;
  status: string;
  agentConnected: boolean;
  count: number;
}

export interface ClusterStatus {
  wave: string;
  stackName: string;
  clusterName: string;
  /** Set when the cluster is in another region than the stage's (it rolls with the image's copy there). */
  region?: string;
  /** The stack's status and the AMI its image parameter holds; null when the stack does not exist. */
  stack: { status: string; imageId?: string } | null;
  /** ECS's cluster status (ACTIVE, INACTIVE...), or MISSING. */
  clusterStatus: string;
  /** The image the cluster last confirmed (its record), or null when it never confirmed one. */
  confirmed: Pick<ClusterRecord, 'amiId' | 'purpose' | 'runId' | 'confirmedAt'> | null;
  /** Whether that image is the current one: a cluster that is not holds `ami/current` back. */
  onCurrent: boolean;
  instances: InstanceGroup[];
}

export interface ExecutionRow {
  name: string;
  executionArn: string;
  status: string;
  result: RunResult;
  startedAt?: string;
  stoppedAt?: string;
  trigger?: string;
  requestedBy?: string;
}

/** Whether the current image is built on the newest base, decided by the base-AMI check's own rule. */
export function rebuildOf(state: BaseAmiCheckState): Rebuild {
  const newestBaseAmiId = state.recommended.imageId;
  const currentBaseAmiId = state.currentBaseAmiId;
  const decision = decideBaseAmiCheck(state);
  if (decision.action === 'start') {
    return {
      due: true,
      reason: currentBaseAmiId
        ? `the newest base ${newestBaseAmiId} differs from the current base ${currentBaseAmiId}`
        : 'no image has been promoted yet',
    };
  }
  if (decision.reason === 'run-in-flight') {
    return {
      due: true,
      reason: `a new base is out; run ${executionNameOf(decision.runningExecutionArn)} holds the fleet, a later check starts the rebuild`,
      runningExecutionArn: decision.runningExecutionArn,
    };
  }
  if (decision.reason === 'retry-later') {
    return { due: true, reason: `${decision.attempts} run(s) for ${newestBaseAmiId} did not promote it; the check tries again after ${decision.retryAt}` };
  }
  if (decision.reason === 'not-approved') {
    return { due: true, reason: `run ${executionNameOf(decision.lastExecutionArn)} for ${newestBaseAmiId} was not approved; the check does not ask again for this base` };
  }
  if (decision.reason === 'gave-up') {
    return { due: true, reason: `${decision.attempts} run(s) for ${newestBaseAmiId} did not promote it; the check gave up: start a run once the cause is fixed` };
  }
  return { due: false, reason: `the current image is built on the newest base ${newestBaseAmiId}` };
}

/** Instances per AMI, status and agent connection; deregistered (INACTIVE) ones are gone and not shown. */
export function groupInstances(instances: ContainerInstanceView[], currentAmiId?: string, latestAmiId?: string): InstanceGroup[] {
  const groups = new Map<string, InstanceGroup>();
  for (const instance of instances) {
    if (instance.status === 'INACTIVE') continue;
    const amiId = instance.amiId ?? null;
    const key = `${amiId}|${instance.status}|${instance.agentConnected}`;
    const image: ImageRole = amiId && amiId === currentAmiId ? 'current' : amiId && amiId === latestAmiId ? 'latest' : 'other';
    const group = groups.get(key) ?? { amiId, image, status: instance.status, agentConnected: instance.agentConnected, count: 0 };
    group.count += 1;
    groups.set(key, group);
  }
  const rank = { current: 0, latest: 1, other: 2 };
  return [...groups.values()].sort(
    (a, b) =>
      rank[a.image] - rank[b.image] ||
      (a.amiId ?? '').localeCompare(b.amiId ?? '') ||
      a.status.localeCompare(b.status) ||
      Number(b.agentConnected) - Number(a.agentConnected),
  );
}

function imageLine(info: ImageInfo | null, now: Date, style: Style): string {
  if (!info) return style.dim('none');
  const parts = [style.bold(info.amiId)];
  if (info.name) parts.push(info.name);
  if (info.createdAt) parts.push(style.dim(`created ${formatTimeWithAge(info.createdAt, now)}`));
  return parts.join('  ');
}

function resultText(result: RunResult, style: Style): string {
  const text = describeResult(result);
  if (result === 'SUCCEEDED' || result === 'DRY_RUN') return style.green(text);
  if (result === 'RUNNING' || result === 'SKIPPED') return style.cyan(text);
  if (result === 'ROLLED_BACK') return style.yellow(text);
  return style.red(text);
}

function clusterLines(cluster: ClusterStatus, style: Style): string[] {
  const head = [`${style.bold(cluster.stackName)} → ${cluster.clusterName}${cluster.region ? ` (${cluster.region})` : ''}`];
  head.push(cluster.stack ? `stack ${cluster.stack.status}${cluster.stack.imageId ? ` on ${cluster.stack.imageId}` : ''}` : style.yellow('stack not found'));
  if (cluster.clusterStatus !== 'ACTIVE') head.push(style.yellow(`cluster ${cluster.clusterStatus === 'MISSING' ? 'not found' : cluster.clusterStatus}`));
  const lines = [`    ${head.join('  ·  ')}`];
  lines.push(
    cluster.confirmed
      ? `      confirmed ${cluster.confirmed.amiId} ${style.dim(`(${cluster.confirmed.purpose}, run ${cluster.confirmed.runId})`)}${cluster.onCurrent ? '' : `  ${style.yellow('not on current')}`}`
      : `      ${style.yellow('no confirmed image yet')}`,
  );
  if (cluster.clusterStatus === 'ACTIVE' && cluster.instances.length === 0) lines.push(`      ${style.dim('no container instances')}`);
  const rows = cluster.instances.map((g) => [
    `${g.count} ×`,
    g.amiId ?? 'unknown AMI',
    g.image === 'other' ? '' : style.dim(`(${g.image})`),
    g.status === 'ACTIVE' ? g.status : style.yellow(g.status),
    g.agentConnected ? 'agent connected' : style.red('agent disconnected'),
  ]);
  return [...lines, ...table(rows, '      ')];
}

export function formatStatus(report: StatusReport, now: Date, style: Style): string {
  const lines: string[] = [];
  lines.push(`${style.bold(`Stage ${report.stage}`)} in ${report.region}  ${style.dim(`(${report.parameterPrefix})`)}`);
  lines.push('');
  lines.push(style.bold('Images'));
  const current = report.current;
  const images: string[][] = [['current', imageLine(current, now, style)]];
  if (current?.promotedAt || current?.executionArn) {
    images.push(['', style.dim(`promoted ${formatTimeWithAge(current.promotedAt, now)} by ${executionNameOf(current.executionArn)}${current.reason === 'rollback' ? ' (rollback)' : ''}`)]);
  }
  const latest = report.latest;
  if (latest && current && latest.amiId === current.amiId) {
    images.push(['latest', style.dim('same as current')]);
  } else {
    images.push(['latest', imageLine(latest, now, style)]);
    if (latest) images.push(['', style.dim(`baked ${formatTimeWithAge(latest.recordedAt, now)} by ${executionNameOf(latest.executionArn)}; not promoted`)]);
  }
  images.push(['base', imageLine(report.base, now, style)]);
  images.push(['newest base', imageLine(report.newestBase, now, style)]);
  const { due, reason } = report.rebuild;
  images.push(['rebuild', due === null ? style.yellow(reason) : due ? style.yellow(`due: ${reason}`) : style.green(`not due: ${reason}`)]);
  lines.push(...table(images, '  '));

  if (report.fleetLock) {
    const lock = report.fleetLock;
    const alive = lock.ownerStatus === 'RUNNING' || lock.ownerStatus === 'PENDING_REDRIVE';
    lines.push(`  fleet held by ${executionNameOf(lock.ownerExecutionArn)} since ${formatTimeWithAge(lock.acquiredAt, now)}${alive ? '' : `  ${style.yellow(`(${lock.ownerStatus}: the next run takes it over)`)}`}`);
  }

  lines.push('');
  lines.push(style.bold('Clusters'));
  if (report.clusters.length === 0) lines.push(`  ${style.dim('no cluster waves are configured for this stage')}`);
  let wave: string | undefined;
  for (const cluster of report.clusters) {
    if (cluster.wave !== wave) {
      wave = cluster.wave;
      lines.push(`  wave ${wave}`);
    }
    lines.push(...clusterLines(cluster, style));
  }

  if (report.waiting.length) {
    lines.push('');
    lines.push(style.bold('Waiting for approval'));
    for (const w of report.waiting) {
      lines.push(`  ${style.yellow(`wave ${w.wave} of run ${w.run}`)}: ${w.amiId} to ${w.clusters.join(', ') || 'its clusters'}, since ${formatTimeWithAge(w.requestedAt, now)}, answer by ${formatTime(w.expiresAt)}`);
      lines.push(`    ami-pipeline approve ${w.run} --stage ${report.stage}   |   ami-pipeline reject ${w.run} --stage ${report.stage} --reason "..."`);
    }
  }

  lines.push('');
  lines.push(style.bold('Last runs'));
  if (report.executions.length === 0) {
    lines.push(`  ${style.dim('none yet')}`);
  } else {
    const rows = report.executions.map((e) => [formatTime(e.startedAt), e.name, e.trigger ?? '-', resultText(e.result, style)]);
    lines.push(...table([['STARTED', 'RUN', 'TRIGGER', 'RESULT'].map((h) => style.dim(h)), ...rows], '  '));
  }
  return lines.join('\n');
}
