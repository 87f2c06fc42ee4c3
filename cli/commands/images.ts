import type { Command } from 'commander';
import { surveyStageImages } from '../../functions/lib/aws/image-inventory';
import { DEFAULT_RETENTION, SERVICE_NAME } from '../../functions/lib/contracts';
import { allTargets } from '../../functions/lib/decisions/waves';
import { action, examples, type CommandRunner } from '../action';
import { regionOf } from '../aws';
import { EXIT } from '../errors';
import { formatImages, imagesReport } from '../images-report';

const images: CommandRunner<{ json?: boolean }> = async (ctx, options) => {
  const config = await ctx.config();
  const region = await regionOf(ctx.clients);
  const survey = await surveyStageImages(ctx.clients, {
    stage: ctx.stage,
    names: ctx.names,
    targets: allTargets(config.waves),
    stateMachineArn: config.stateMachineArn,
    // Deployments from before image retention did not record these; their defaults apply.
    amiNamePrefix: config.amiNamePrefix ?? `${SERVICE_NAME}-${ctx.stage}`,
  });
  const policy = config.retention ?? DEFAULT_RETENTION;
  const report = imagesReport(survey, { stage: ctx.stage, region, now: new Date(), policy });
  ctx.print(options.json ? JSON.stringify(report, null, 2) : formatImages(report, ctx.style));
  return EXIT.ok;
};

export function registerImages(program: Command): void {
  program
    .command('images')
    .description("list the stage's images: base, creation date, current/latest, what uses each, and what retention would delete and why")
    .option('--json', 'print the report as JSON (for scripts)')
    .addHelpText(
      'after',
      examples('ami-pipeline images --stage prod', 'ami-pipeline images --stage prod --json | jq -r \'.images[] | select(.wouldDelete) | .imageId\''),
    )
    .action(action(images));
}
