import type { Command } from 'commander';
import { runBaseAmiCheck, type BaseAmiCheckResult } from '../../functions/lib/aws/base-ami-job';
import { requester } from '../aws';
import { action, examples, type CommandRunner } from '../action';
import { EXIT } from '../errors';
import type { Style } from '../style';

export function formatCheck(result: BaseAmiCheckResult, style: Style): string {
  const lines = [`Newest ECS-optimized base: ${style.bold(result.baseAmiId)}${result.baseAmiName ? ` (${result.baseAmiName})` : ''}`];
  lines.push(`Current base:              ${result.currentBaseAmiId ?? 'none (nothing promoted yet)'}`);
  const headline = {
    started: style.green('Started a run'),
    'already-started': style.cyan('Already started'),
    'run-in-flight': style.yellow('Run in flight'),
    'up-to-date': style.green('Up to date'),
    'retry-later': style.yellow('Retry later'),
    'gave-up': style.red('Waiting for a person'),
    'not-approved': style.yellow('Not approved'),
  }[result.outcome];
  lines.push('', `${headline}: ${result.message}`);
  if (result.executionArn) lines.push(`Execution: ${result.executionArn}`);
  return lines.join('\n');
}

const check: CommandRunner<{ json?: boolean }> = async (ctx, options) => {
  const config = await ctx.config();
  // The scheduled check's own code, run with the caller's credentials: same decision, same run name.
  const result = await runBaseAmiCheck(ctx.clients, {
    stateMachineArn: config.stateMachineArn,
    parameterPrefix: ctx.parameterPrefix,
    architecture: config.baseAmiArchitecture,
    runLedgerTable: config.runLedgerTable,
    maxAttempts: config.baseAmiMaxAttempts,
    requestedBy: `ami-pipeline check by ${await requester(ctx.clients.sts)}`,
  });
  ctx.print(options.json ? JSON.stringify(result, null, 2) : formatCheck(result, ctx.style));
  return EXIT.ok;
};

export function registerCheck(program: Command): void {
  program
    .command('check')
    .description(
      'run the base-AMI check now: compare the newest ECS-optimized AMI with the current base and the runs already tried, and start a rebuild when it is due',
    )
    .option('--json', 'print the result as JSON (for scripts)')
    .addHelpText(
      'after',
      `${examples('ami-pipeline check', 'ami-pipeline check --stage prod --json')}
Exit code 0 whenever the check ran, whether it started a run or not (see "outcome" in --json:
started, already-started, run-in-flight, up-to-date, retry-later, gave-up).
`,
    )
    .action(action(check));
}
