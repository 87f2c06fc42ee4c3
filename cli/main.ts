import { CommanderError } from 'commander';
import { describeError, EXIT } from './errors';
import { buildProgram } from './program';

async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // commander already printed the help or its own one-line message.
      return ['commander.helpDisplayed', 'commander.version'].includes(error.code) ? EXIT.ok : EXIT.usage;
    }
    const { message, exitCode } = describeError(error, program.opts().profile ?? process.env.AWS_PROFILE);
    process.stderr.write(`ami-pipeline: ${message}\n`);
    if (program.opts().debug && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    return exitCode;
  }
}

main(process.argv).then((code) => {
  process.exitCode = code;
});
