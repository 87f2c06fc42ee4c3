import { CommanderError } from 'commander';
import { describeError, EXIT } from './errors';
import { buildProgram, type ProgramOutput } from './program';
import { programRunOf } from './program-run';

/**
 * The whole CLI for one command line: parse, run, and turn every failure into one line on stderr
 * and an exit code. main.ts runs it for the process; tests of help and usage run it in-process.
 */
export async function runCli(argv: string[], output?: ProgramOutput): Promise<number> {
  const program = buildProgram(output);
  const run = programRunOf(program);
  const { writeErr } = run;
  try {
    await program.parseAsync(argv);
    return run.exitCode ?? EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // commander already printed the help or its own one-line message.
      return ['commander.helpDisplayed', 'commander.version'].includes(error.code) ? EXIT.ok : EXIT.usage;
    }
    const { message, exitCode } = describeError(error, program.opts().profile ?? process.env.AWS_PROFILE);
    writeErr(`ami-pipeline: ${message}\n`);
    if (program.opts().debug && error instanceof Error) writeErr(`${error.stack}\n`);
    return exitCode;
  }
}
