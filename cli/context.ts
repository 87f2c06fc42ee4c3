import { defaultParameterPrefix, parameterNames, type ParameterNames, type PipelineConfig } from '../functions/lib/contracts';
import { createClients, loadPipelineConfig, type Clients } from './aws';
import type { ProgramRun } from './program-run';
import { colorWanted, createStyle, type Style } from './style';

/** The options every command accepts (defined once on the program). */
export interface GlobalOptions {
  stage: string;
  parameterPrefix?: string;
  region?: string;
  endpointUrl?: string;
  profile?: string;
  debug?: boolean;
  color?: boolean;
}

export interface Context {
  stage: string;
  parameterPrefix: string;
  names: ParameterNames;
  clients: Clients;
  /** The same clients in another region (a cluster target or a copy there); the command's own for its region. */
  clientsIn(region: string | undefined): Clients;
  style: Style;
  /** The stage's deployment (read once from SSM). */
  config(): Promise<PipelineConfig>;
  print(text?: string): void;
  /** Progress and notes that must not mix with a command's result on stdout. */
  note(text: string): void;
  /** Whether a person can answer a question on stdin (approve and rollback ask without --yes). */
  stdinIsTTY(): boolean;
  /** Closes every client the command created. */
  close(): void;
}

export function createContext(options: GlobalOptions, io: Pick<ProgramRun, 'writeOut' | 'writeErr' | 'stdinIsTTY'>): Context {
  const parameterPrefix = (options.parameterPrefix ?? defaultParameterPrefix(options.stage)).replace(/\/+$/, '');
  const clients = createClients(options);
  const regional = new Map<string, Clients>();
  let config: Promise<PipelineConfig> | undefined;
  return {
    stage: options.stage,
    parameterPrefix,
    names: parameterNames(parameterPrefix),
    clients,
    clientsIn: (region) => {
      if (!region || region === options.region) return clients;
      let found = regional.get(region);
      if (!found) regional.set(region, (found = createClients({ ...options, region })));
      return found;
    },
    style: createStyle(colorWanted(options.color, process.env, Boolean(process.stdout.isTTY))),
    config: () => (config ??= loadPipelineConfig(clients, options.stage, parameterPrefix)),
    print: (text = '') => io.writeOut(`${text}\n`),
    note: (text) => io.writeErr(`${text}\n`),
    stdinIsTTY: io.stdinIsTTY,
    close: () => {
      for (const set of [clients, ...regional.values()]) for (const client of Object.values(set)) client.destroy();
    },
  };
}
