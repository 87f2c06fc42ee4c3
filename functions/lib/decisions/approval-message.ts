import type { ClusterTarget } from '../contracts';
import { executionConsoleUrl, executionNameOf } from '../contracts/executions';
import type { OpsMessage } from './chat-message';

/** What a wave waiting for approval tells ops (the token is never in it). */
export interface ApprovalRequestView {
  serviceName: string;
  stage: string;
  executionArn: string;
  wave: string;
  clusters: ClusterTarget[];
  amiId: string;
  /** The image's base, when the run baked it. */
  baseAmi?: { id: string; name?: string };
  /** Who started the run and why. */
  requestedBy: string | null;
  reason: string | null;
  /** Earlier waves of this run and how they ended (e.g. `dev: 2 clusters confirmed, soaked 30 min`). */
  earlierWaves: string[];
  requestedAt: Date;
  expiresAt: Date;
}

/** Published with `status` APPROVAL_NEEDED, so a subscription can route approvals to the approvers alone. */
export const APPROVAL_NEEDED_STATUS = 'APPROVAL_NEEDED';

export function composeApprovalRequest(view: ApprovalRequestView): OpsMessage {
  const run = executionNameOf(view.executionArn);
  const stageFlag = `--stage ${view.stage}`;
  const clusters = view.clusters.map((c) => `${c.stackName} (${c.clusterName})`);
  const lines = [
    `Wave ${view.wave} of run ${run} waits for a person before it rolls ${view.amiId} to ${clusters.length} cluster${clusters.length === 1 ? '' : 's'}.`,
    '',
    `Waiting since: ${view.requestedAt.toISOString()}`,
    `Answer by:     ${view.expiresAt.toISOString()} (no answer by then counts as a rejection)`,
    `Image:         ${view.amiId}${view.baseAmi ? ` (base ${view.baseAmi.id}${view.baseAmi.name ? `, ${view.baseAmi.name}` : ''})` : ''}`,
    `Requested by:  ${[view.requestedBy, view.reason].filter(Boolean).join(': ') || 'not given'}`,
    '',
    'Clusters of this wave',
    ...clusters.map((c) => `  ${c}`),
  ];
  if (view.earlierWaves.length) lines.push('', 'Earlier waves of this run', ...view.earlierWaves.map((w) => `  ${w}`));
  lines.push(
    '',
    'To answer (your AWS identity is recorded with the answer):',
    `  ami-pipeline approve ${run} ${stageFlag}`,
    `  ami-pipeline reject ${run} ${stageFlag} --reason "why"`,
    '',
    `Execution: ${executionConsoleUrl(view.executionArn)}`,
  );
  return {
    subject: `[${view.serviceName} ${view.stage}] APPROVAL NEEDED: wave ${view.wave} of run ${run}`.slice(0, 99),
    message: `${lines.join('\n')}\n`,
    attributes: { status: APPROVAL_NEEDED_STATUS, stage: view.stage, step: 'approval' },
  };
}
