import type { Command } from 'commander';

/**
 * Where the CLI writes its results (stdout) and notes, help and messages (stderr), and whether a
 * person can answer a question on stdin. Default: the process's own streams. The tests give their
 * own to run the CLI in their process (test/cli/harness.ts).
 */
export interface ProgramOutput {
  writeOut?: (text: string) => void;
  writeErr?: (text: string) => void;
  stdinIsTTY?: () => boolean;
}

/** What one command line's program knows beyond commander: its output, and the command's exit code once run. */
export interface ProgramRun {
  writeOut: (text: string) => void;
  writeErr: (text: string) => void;
  stdinIsTTY: () => boolean;
  exitCode?: number;
}

const runs = new WeakMap<Command, ProgramRun>();

/** The run of the program `command` belongs to (its root command's). */
export function programRunOf(command: Command): ProgramRun {
  let root = command;
  while (root.parent) root = root.parent;
  const run = runs.get(root);
  if (!run) throw new Error('the command does not belong to a program built by buildProgram (cli/program.ts)');
  return run;
}

/** Gives `program` (a root command) its run: the output given, else the process's own streams. */
export function registerProgramRun(program: Command, output: ProgramOutput): void {
  runs.set(program, {
    writeOut: output.writeOut ?? ((text) => process.stdout.write(text)),
    writeErr: output.writeErr ?? ((text) => process.stderr.write(text)),
    stdinIsTTY: output.stdinIsTTY ?? (() => Boolean(process.stdin.isTTY)),
  });
}
