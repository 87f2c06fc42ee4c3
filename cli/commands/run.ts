import type { Command } from 'commander';
import { checkSourceImage } from '../../functions/lib/aws/request-images';
import { enforceWaveOrder, parseRunRequest, selectWaves, waveOrderBreaches } from '../../functions/lib/decisions/request';
import { action, examples, type CommandRunner } from '../action';
import { requester } from '../aws';
import { clusterList } from '../options';
import { POLL_MS, runExitCodes, startRun } from '../start-run';

interface RunOptions {
  sourceAmi?: string;
  dryRun?: boolean;
  clusters?: string[];
  skipEarlierWaves?: boolean;
  reason?: string;
  wait: boolean;
}

const run: CommandRunner<RunOptions> = async (ctx, options) => {
  const config = await ctx.config();
  // The state machine's own first step validates with these same functions: what passes here passes there.
  const request = parseRunRequest({
    trigger: 'manual',
    ...(options.sourceAmi !== undefined ? { sourceAmi: options.sourceAmi } : {}),
    ...(options.dryRun ? { dryRun: true } : {}),
    ...(options.clusters ? { clusters: options.clusters } : {}),
    ...(options.skipEarlierWaves ? { skipEarlierWaves: true } : {}),
    ...(options.reason !== undefined ? { reason: options.reason } : {}),
    requestedBy: await requester(ctx.clients.sts),
  });
  const waves = selectWaves(request, config.waves);
  if (!request.dryRun) enforceWaveOrder(request, waveOrderBreaches(config.waves, waves));
  if (request.sourceAmi) await checkSourceImage(ctx.clients.ec2, request.sourceAmi);
  return startRun(ctx, config.stateMachineArn, request, waves, { wait: options.wait, pollMs: POLL_MS });
};

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('start a run (bake, roll wave by wave, confirm, promote) and follow it step by step until it ends')
    .option('--source-ami <ami-id>', 'bake from this base AMI instead of the newest ECS-optimized one')
    .option('--dry-run', 'bake and record the image, roll nothing')
    .option('--clusters <names>', 'roll only these stacks or clusters (comma-separated; configured order and waves kept)', clusterList)
    .option('--skip-earlier-waves', 'with --clusters: roll them without the earlier waves first (ami/current then stays until every cluster has the image)')
    .option('--reason <text>', 'why, for the notification and the audit trail')
    .option('--no-wait', 'print the execution ARN and exit instead of following the run')
    .addHelpText(
      'after',
      `${examples(
        'ami-pipeline run --stage dev',
        'ami-pipeline run --stage prod --clusters prod-a-ecs --skip-earlier-waves --reason "CVE-2026-1234"',
        'ami-pipeline run --dry-run --source-ami ami-0123456789abcdef0',
        'ARN=$(ami-pipeline run --no-wait)',
      )}${runExitCodes({ dryRun: true })}`,
    )
    .action(action(run));
}
