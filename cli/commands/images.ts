import type { Command } from 'commander';
import { surveyStageImages } from '../../functions/lib/aws/image-inventory';
import { DEFAULT_RETENTION, SERVICE_NAME } from '../../functions/lib/contracts';
import { allTargets } from '../../functions/lib/decisions/waves';
import { regionalSurvey } from '../../functions/lib/decisions/regional-retention';
import { action, examples, type CommandRunner } from '../action';
import { regionOf } from '../aws';
import { EXIT } from '../errors';
import { formatImages, imagesReport } from '../images-report';

const images: CommandRunner<{ json?: boolean }> = async (ctx, options) => {
  const config = await ctx.config();
  const region = await regionOf(ctx.clients);
  const targets = allTargets(config.waves);
  const scope = {
    stage: ctx.stage,
    names: ctx.names,
    targets: targets.filter((t) => !t.region || t.region === region),
    stateMachineArn: config.stateMachineArn,
    // Deployments from before image retention did not record these; their defaults apply.
    amiNamePrefix: config.amiNamePrefix ?? `${SERVICE_NAME}-${ctx.stage}`,
  };
  const survey = await surveyStageImages(ctx.clients, scope);
  const policy = config.retention ?? DEFAULT_RETENTION;
  const now = new Date();
  const report = imagesReport(survey, { stage: ctx.stage, region, now, policy });
  // The copies in each copy region, with what the stage's region knows carried over (as retention does).
  const regions = [];
  for (const { region: copyRegion } of config.copyToRegions ?? []) {
    const here = targets.filter((t) => t.region === copyRegion);
    const raw = await surveyStageImages({ ...ctx.clientsIn(copyRegion), sfn: ctx.clients.sfn }, { ...scope, targets: here });
    regions.push(imagesReport(regionalSurvey(survey, raw, here), { stage: ctx.stage, region: copyRegion, now, policy }));
  }
  if (options.json) {
    ctx.print(JSON.stringify(regions.length ? { ...report, regions } : report, null, 2));
  } else {
    ctx.print([report, ...regions].map((r) => formatImages(r, ctx.style)).join('\n\n'));
  }
  return EXIT.ok;
};

export function registerImages(program: Command): void {
  program
    .command('images')
    .description("list the stage's images, and their copies in each copy region: base, creation date, current/latest, what uses each, and what retention would delete and why")
    .option('--json', 'print the report as JSON (for scripts)')
    .addHelpText(
      'after',
      examples('ami-pipeline images --stage prod', 'ami-pipeline images --stage prod --json | jq -r \'.images[] | select(.wouldDelete) | .imageId\''),
    )
    .action(action(images));
}
