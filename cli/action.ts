import type { Command, OptionValues } from 'commander';
import { createContext, type Context, type GlobalOptions } from './context';
import { programRunOf } from './program-run';

/** A command's work: returns the exit code; throws for anything main.ts should explain in one line. */
export type CommandRunner<O extends OptionValues> = (ctx: Context, options: O, command: Command) => Promise<number>;

/**
 * Adapts a runner to commander: builds the context from the global options once the line is parsed,
 * keeps the exit code for run-cli.ts, and closes the command's AWS clients (their idle connections)
 * when it is done.
 */
export function action<O extends OptionValues>(runner: CommandRunner<O>): (...args: unknown[]) => Promise<void> {
  return async (...args) => {
    const command = args[args.length - 1] as Command;
    const run = programRunOf(command);
    const ctx = createContext(command.optsWithGlobals<GlobalOptions>(), run);
    try {
      run.exitCode = await runner(ctx, command.opts<O>(), command);
    } finally {
      ctx.close();
    }
  };
}

/** Help text that ends every command's --help. */
export function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`;
}
