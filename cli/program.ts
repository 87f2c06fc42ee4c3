import { Command, Option } from 'commander';
import { SERVICE_NAME, defaultParameterPrefix } from '../functions/lib/contracts';
import { registerApprovals } from './commands/approve';
import { registerCheck } from './commands/check';
import { registerHistory } from './commands/history';
import { registerImages } from './commands/images';
import { registerRollback } from './commands/rollback';
import { registerRun } from './commands/run';
import { registerStatus } from './commands/status';
import { examples } from './action';
import { endpointUrl, regionName, stageName } from './options';
import { registerProgramRun, type ProgramOutput } from './program-run';

export type { ProgramOutput } from './program-run';

export function buildProgram(output: ProgramOutput = {}): Command {
  const program = new Command('ami-pipeline')
    .description(`Operate the ${SERVICE_NAME}: see where every cluster stands, start, follow and roll back runs.`)
    .addOption(new Option('--stage <name>', 'the deployment stage').env('AMI_PIPELINE_STAGE').default('dev').argParser(stageName))
    .option('--parameter-prefix <path>', `SSM prefix of the stage's parameters (default: ${defaultParameterPrefix('<stage>')})`)
    .addOption(new Option('--region <region>', 'AWS region (default: AWS_REGION or your profile\'s region)').argParser(regionName))
    .option('--profile <name>', 'AWS profile (default: AWS_PROFILE)')
    .addOption(
      new Option('--endpoint-url <url>', 'send every AWS call to this endpoint, e.g. a local emulator (default: AWS_ENDPOINT_URL)').argParser(endpointUrl),
    )
    .option('--no-color', 'plain output (also NO_COLOR=1; color is only used on a terminal)')
    .option('--debug', 'show stack traces')
    .configureHelp({ showGlobalOptions: true })
    // One line, like every other error, with where to look: commander's own usage messages included.
    .configureOutput({
      ...(output.writeOut ? { writeOut: output.writeOut } : {}),
      ...(output.writeErr ? { writeErr: output.writeErr } : {}),
      outputError: (message, write) =>
        write(`ami-pipeline: ${message.replace(/^error: /, '').trim().split('\n').join(' ')} (see ami-pipeline --help)\n`),
    })
    .exitOverride()
    .addHelpText(
      'after',
      examples('ami-pipeline status --stage prod', 'ami-pipeline run --stage dev --dry-run', 'ami-pipeline <command> --help'),
    );
  // Subcommands created with .command() inherit exitOverride and the help settings above.
  registerStatus(program);
  registerRun(program);
  registerHistory(program);
  registerRollback(program);
  registerApprovals(program);
  registerCheck(program);
  registerImages(program);
  registerProgramRun(program, output);
  return program;
}
