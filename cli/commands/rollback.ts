import type { Command } from 'commander';
import { resolveRollbackTarget } from '../../functions/lib/aws/request-images';
import { enforceWaveOrder, parseRunRequest, selectWaves, waveOrderBreaches } from '../../functions/lib/decisions/request';
import { readClusterRecords } from '../../functions/lib/aws/cluster-records';
import { readParameter } from '../../functions/lib/aws/parameters';
import { allTargets } from '../../functions/lib/decisions/waves';
import { confirmedStageImage } from '../../functions/lib/contracts';
import { action, examples, type CommandRunner } from '../action';
import { requester } from '../aws';
import { CliError } from '../errors';
import { clusterList } from '../options';
import { confirm, describeWaves, needsConfirmation, POLL_MS, runExitCodes, startRun } from '../start-run';

interface RollbackOptions {
  to?: string;
  clusters?: string[];
  skipEarlierWaves?: boolean;
  reason?: string;
  yes?: boolean;
  wait: boolean;
}

const rollback: CommandRunner<RollbackOptions> = async (ctx, options) => {
  const config = await ctx.config();
  const input = {
    trigger: 'manual',
    rollback: options.to !== undefined ? { toAmi: options.to } : {},
    ...(options.clusters ? { clusters: options.clusters } : {}),
    ...(options.skipEarlierWaves ? { skipEarlierWaves: true } : {}),
    ...(options.reason !== undefined ? { reason: options.reason } : {}),
    requestedBy: await requester(ctx.clients.sts),
  };
  const waves = selectWaves(parseRunRequest(input), config.waves);
  // The state machine's own choice of image, made here so the question names it...
  const target = await resolveRollbackTarget(ctx.clients, options.to, ctx.names, allTargets(config.waves));
  const records = await readClusterRecords(ctx.clients.ssm, ctx.names, allTargets(config.waves));
  enforceWaveOrder(parseRunRequest(input), waveOrderBreaches(config.waves, waves, (stack) => confirmedStageImage(records.get(stack)) === target.amiId));
  const current = await readParameter(ctx.clients.ssm, ctx.names.currentAmi);
  const question = `Roll stage ${ctx.stage} back from ${current ?? 'no current image'} to ${target.amiId} on ${describeWaves(waves)}?`;
  if (!options.yes) {
    if (!ctx.stdinIsTTY()) throw needsConfirmation(`rolling back stage ${ctx.stage} to ${target.amiId}`);
    if (!(await confirm(question, process.stdin, process.stderr))) throw new CliError('rollback cancelled; nothing was started');
  }
  // ...and sent explicitly, so the run puts back exactly the image that was confirmed.
  const request = parseRunRequest({ ...input, rollback: { toAmi: target.amiId } });
  return startRun(ctx, config.stateMachineArn, request, waves, { wait: options.wait, pollMs: POLL_MS });
};

export function registerRollback(program: Command): void {
  program
    .command('rollback')
    .description('roll the fleet back to an earlier pipeline image (default: the last image every cluster confirmed) and follow the run')
    .option('--to <ami-id>', 'the image to roll back to (default: the current AMI when some clusters are not on it, else the image promoted before it, never one a rollback moved away from)')
    .option('--clusters <names>', 'roll back only these stacks or clusters (comma-separated)', clusterList)
    .option('--skip-earlier-waves', 'with --clusters: roll them back without the earlier waves first')
    .option('--reason <text>', 'why, for the notification and the audit trail')
    .option('-y, --yes', 'do not ask for confirmation (needed when stdin is not a terminal)')
    .option('--no-wait', 'print the execution ARN and exit instead of following the run')
    .addHelpText(
      'after',
      `${examples(
        'ami-pipeline rollback --stage prod',
        'ami-pipeline rollback --stage prod --to ami-0123456789abcdef0 --reason "agent crash on 2026.11" --yes',
      )}${runExitCodes({ dryRun: false })}`,
    )
    .action(action(rollback));
}
