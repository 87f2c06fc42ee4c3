import { DescribeExecutionCommand, SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import type { Command } from 'commander';
import { claimAnswer, readApprovalWaiting, releaseClaim } from '../../functions/lib/aws/approvals';
import { executionArnFor, executionNameOf, stateMachineArnOf } from '../../functions/lib/contracts/executions';
import type { ApprovalAnswer, ApprovalWaiting } from '../../functions/lib/contracts/gates';
import { composeAnswer } from '../../functions/lib/decisions/gates';
import { action, examples, type CommandRunner } from '../action';
import { requester } from '../aws';
import type { Context } from '../context';
import { CliError, EXIT } from '../errors';
import { confirm, needsConfirmation } from '../start-run';

interface AnswerOptions {
  reason?: string;
  yes?: boolean;
}

// Execution names: 1-80 of [A-Za-z0-9_-] (the pipeline names its runs so; AWS allows a few more).
const RUN_NAME = /^[A-Za-z0-9_-]{1,80}$/;

/** The run's execution ARN, from its name or its ARN; an ARN of another state machine is refused. */
function runArn(run: string, stateMachineArn: string, stage: string): string {
  if (run.startsWith('arn:')) {
    let machine: string | undefined;
    try {
      machine = stateMachineArnOf(run);
    } catch {
      machine = undefined;
    }
    if (machine !== stateMachineArn) {
      throw new CliError(`${shorten(run)} is not a run of stage ${stage} (${stateMachineArn}); pass the run's name as ami-pipeline status shows it`);
    }
    return run;
  }
  if (!RUN_NAME.test(run)) throw new CliError(`"${shorten(run)}" is not a run name (letters, digits, - and _); pass the name ami-pipeline status shows`);
  return executionArnFor(stateMachineArn, run);
}

function shorten(text: string): string {
  return text.length <= 100 ? text : `${text.slice(0, 97)}...`;
}

function describeAnswer(a: ApprovalAnswer): string {
  return `${a.decision} by ${a.by ?? 'nobody'} at ${a.at}${a.reason ? ` (${a.reason})` : ''}`;
}

/** The approval the run waits for now, or a CliError (exit 4, nothing changed) that says why there is none. */
async function waitingApproval(ctx: Context, run: string): Promise<{ executionArn: string; waiting: ApprovalWaiting; table: string }> {
  const config = await ctx.config();
  const executionArn = runArn(run, config.stateMachineArn, ctx.stage);
  const name = executionNameOf(executionArn);
  let status: string | undefined;
  try {
    status = (await ctx.clients.sfn.send(new DescribeExecutionCommand({ executionArn }))).status;
  } catch (error) {
    if ((error as Error).name === 'ExecutionDoesNotExist') {
      throw new CliError(`no run ${name} in stage ${ctx.stage}; ami-pipeline status --stage ${ctx.stage} --runs 10 lists the recent ones`);
    }
    throw error;
  }
  const waiting = await readApprovalWaiting(ctx.clients.ddb, config.runLedgerTable, executionArn);
  if (status !== 'RUNNING') {
    throw new CliError(`run ${name} is not waiting for approval: it ended ${status ?? 'UNKNOWN'}${waiting?.answer ? `; wave ${waiting.wave} was answered ${describeAnswer(waiting.answer)}` : ''}`);
  }
  if (!waiting) throw new CliError(`run ${name} is not waiting for approval (no wave of it has asked); ami-pipeline status --stage ${ctx.stage} shows where it is`);
  if (waiting.answer) throw new CliError(`wave ${waiting.wave} of run ${name} was already answered: ${describeAnswer(waiting.answer)}`);
  if (Date.parse(waiting.expiresAt) <= Date.now()) {
    throw new CliError(`the approval of wave ${waiting.wave} of run ${name} timed out at ${waiting.expiresAt} (counted as a rejection)`);
  }
  return { executionArn, waiting, table: config.runLedgerTable };
}

// What Step Functions answers when the token no longer waits: the run moved on, timed out or stopped.
const GONE = new Set(['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken']);

function answerCommand(decision: 'APPROVED' | 'REJECTED'): CommandRunner<AnswerOptions> {
  return async (ctx, options, command) => {
    const run = command.args[0]!;
    const verb = decision === 'APPROVED' ? 'approve' : 'reject';
    // Input first: a bad answer changes nothing and calls nothing.
    const draft = composeAnswer(decision, 'caller', options.reason, 'wave', new Date());
    if (!draft.ok) throw new CliError(`${draft.problem.field}: ${draft.problem.problem}`);
    const { executionArn, waiting, table } = await waitingApproval(ctx, run);
    const name = executionNameOf(executionArn);
    const what = `wave ${waiting.wave} of run ${name} (${waiting.amiId} to ${waiting.clusters.join(', ') || 'its clusters'})`;
    if (!options.yes) {
      if (!ctx.stdinIsTTY()) throw needsConfirmation(`${verb === 'approve' ? 'approving' : 'rejecting'} ${what}`);
      if (!(await confirm(`${decision === 'APPROVED' ? 'Approve' : 'Reject'} ${what}?`, process.stdin, process.stderr))) {
        throw new CliError(`${verb} cancelled; the run still waits`);
      }
    }
    const composed = composeAnswer(decision, await requester(ctx.clients.sts), options.reason, waiting.wave, new Date());
    if (!composed.ok) throw new CliError(`${composed.problem.field}: ${composed.problem.problem}`);
    const answer = composed.answer;
    const claim = await claimAnswer(ctx.clients.ddb, table, waiting, answer);
    if (!claim.claimed) {
      throw new CliError(`wave ${waiting.wave} of run ${name} was answered just now by someone else${claim.earlier ? `: ${describeAnswer(claim.earlier)}` : ''}`);
    }
    try {
      await ctx.clients.sfn.send(new SendTaskSuccessCommand({ taskToken: waiting.token, output: JSON.stringify(answer) }));
    } catch (error) {
      // Step Functions did not take the answer: the wait must read as unanswered again.
      await releaseClaim(ctx.clients.ddb, table, waiting).catch(() => undefined);
      if (GONE.has((error as Error).name)) {
        throw new CliError(`run ${name} no longer waits for this answer (${(error as Error).name}); ami-pipeline status --stage ${ctx.stage} shows how it went on`);
      }
      throw error;
    }
    ctx.print(
      decision === 'APPROVED'
        ? `Approved ${what} as ${answer.by}. The run goes on: ami-pipeline status --stage ${ctx.stage}`
        : `Rejected ${what} as ${answer.by}: ${answer.reason}. The run stops without touching the wave; nothing is promoted.`,
    );
    return EXIT.ok;
  };
}

export function registerApprovals(program: Command): void {
  const exitCodes = '\nExit codes:\n  0  answered; the run goes on (approve) or stops (reject)\n  4  nothing answered: unknown run, not waiting, already answered, timed out, bad input or no confirmation\n';
  program
    .command('approve')
    .argument('<run>', 'the run (execution name or ARN) whose wave waits for approval')
    .description('approve the wave a run waits on; your AWS identity and the reason are recorded')
    .option('--reason <text>', 'why, for the records and the message (optional for an approval)')
    .option('-y, --yes', 'do not ask for confirmation (needed when stdin is not a terminal)')
    .addHelpText('after', `${examples('ami-pipeline approve weekly-2026-11-30 --stage prod --reason "dev soaked clean"')}${exitCodes}`)
    .action(action(answerCommand('APPROVED')));
  program
    .command('reject')
    .argument('<run>', 'the run (execution name or ARN) whose wave waits for approval')
    .description('reject the wave a run waits on: the run stops before it, nothing is promoted')
    .requiredOption('--reason <text>', 'why (required): it goes to ops and into the records')
    .option('-y, --yes', 'do not ask for confirmation (needed when stdin is not a terminal)')
    .addHelpText('after', `${examples('ami-pipeline reject weekly-2026-11-30 --stage prod --reason "freeze until Monday"')}${exitCodes}`)
    .action(action(answerCommand('REJECTED')));
}
