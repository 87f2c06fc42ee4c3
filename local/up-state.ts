/**
 * The files `make up` keeps in its directory (.build/up by default), shared by the launcher
 * (local/up.ts) and the process it leaves running (local/up-server.ts):
 *   up.pid      the running process's id (written by the launcher)
 *   up.log      that process's output: setup, each run's states, errors
 *   state.json  written once the environment is ready: endpoints, process ids, what to export
 *   env.sh      the exports, for `source .build/up/env.sh`
 */
import path from 'node:path';

export interface UpState {
  pid: number;
  /** moto_server's pid and port: what `make down` stops itself if the process above died without stopping it. */
  motoPid?: number;
  motoPort: number;
  stage: string;
  scenario: string;
  startedAt: string;
  /** What a shell (the CLI, the SDK, the aws CLI) exports to use the environment. */
  env: Record<string, string>;
}

export const pidPath = (dir: string) => path.join(dir, 'up.pid');
export const logPath = (dir: string) => path.join(dir, 'up.log');
export const statePath = (dir: string) => path.join(dir, 'state.json');
export const envPath = (dir: string) => path.join(dir, 'env.sh');

/** Values here are URLs, a region and fixed words: single quotes are all the quoting they need. */
export function exportLines(env: Record<string, string>): string[] {
  return Object.entries(env).map(([name, value]) => `export ${name}='${value.replace(/'/g, `'\\''`)}'`);
}

export function envFile(state: UpState): string {
  return [
    `# make up (pid ${state.pid}, started ${state.startedAt}): the local emulated account, stage ${state.stage}.`,
    '# Every AWS call of a shell that sources this goes to it; moto accepts any credentials, these are dummies.',
    ...exportLines(state.env),
    '',
  ].join('\n');
}
