import { Option, type Command } from 'commander';
import { parameterHistory } from '../../functions/lib/aws/parameters';
import { action, examples, type CommandRunner } from '../action';
import { EXIT } from '../errors';
import { formatHistory, promotionsFrom } from '../history-report';
import { boundedInteger } from '../options';

const history: CommandRunner<{ json?: boolean; limit: number }> = async (ctx, options) => {
  // Reading the config first makes a wrong --stage an error rather than an empty history.
  await ctx.config();
  const promotions = promotionsFrom(await parameterHistory(ctx.clients.ssm, ctx.names.currentAmiRecord)).slice(0, options.limit);
  ctx.print(options.json ? JSON.stringify(promotions, null, 2) : formatHistory(promotions, ctx.names.currentAmiRecord, ctx.style));
  return EXIT.ok;
};

export function registerHistory(program: Command): void {
  program
    .command('history')
    .description('list the promotions, newest first: when, which AMI, from which base, by which run (from the SSM parameter history)')
    .option('--json', 'print the promotions as JSON (for scripts)')
    .addOption(new Option('--limit <count>', 'how many promotions to show (1-1000)').default(20).argParser(boundedInteger(1, 1000)))
    .addHelpText('after', examples('ami-pipeline history', 'ami-pipeline history --stage prod --limit 5', 'ami-pipeline history --json | jq -r ".[0].amiId"'))
    .action(action(history));
}
