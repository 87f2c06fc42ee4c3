import { Option, type Command } from 'commander';
import { parameterHistory } from '../../functions/lib/aws/parameters';
import { action, examples, type CommandRunner } from '../action';
import { EXIT } from '../errors';
import { formatHistory, formatRefusals, promotionsFrom, refusalsFrom } from '../history-report';
import { boundedInteger } from '../options';

const history: CommandRunner<{ json?: boolean; limit: number; refusals?: boolean }> = async (ctx, options) => {
  // Reading the config first makes a wrong --stage an error rather than an empty history.
  await ctx.config();
  const promotions = promotionsFrom(await parameterHistory(ctx.clients.ssm, ctx.names.currentAmiRecord)).slice(0, options.limit);
  if (options.json) {
    // An array, as before; the refusals are their own view (--refusals).
    ctx.print(JSON.stringify(options.refusals ? refusalsFrom(await parameterHistory(ctx.clients.ssm, ctx.names.refusedApproval)).slice(0, options.limit) : promotions, null, 2));
    return EXIT.ok;
  }
  ctx.print(formatHistory(promotions, ctx.names.currentAmiRecord, ctx.style));
  const refusals = formatRefusals(refusalsFrom(await parameterHistory(ctx.clients.ssm, ctx.names.refusedApproval)).slice(0, options.limit), ctx.style);
  if (refusals) ctx.print(`\n${refusals}`);
  return EXIT.ok;
};

export function registerHistory(program: Command): void {
  program
    .command('history')
    .description('list the promotions, newest first (when, which AMI, from which base, by which run, who approved), then the waves not approved (from the SSM parameter history)')
    .option('--json', 'print the promotions as JSON (for scripts)')
    .option('--refusals', 'with --json: print the waves not approved (rejected or timed out) instead of the promotions')
    .addOption(new Option('--limit <count>', 'how many promotions to show (1-1000)').default(20).argParser(boundedInteger(1, 1000)))
    .addHelpText('after', examples('ami-pipeline history', 'ami-pipeline history --stage prod --limit 5', 'ami-pipeline history --json | jq -r ".[0].amiId"'))
    .action(action(history));
}
