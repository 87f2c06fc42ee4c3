import { readFileSync } from 'node:fs';

/**
 * Reads a stack parameter file in the `aws cloudformation deploy --parameter-overrides $(cat f)`
 * format: one `Key=Value` per line, no comments, no spaces (the shell splits on them).
 */
export function parseCfg(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '') continue;
    const match = /^([A-Za-z0-9]+)=(\S*)$/.exec(line);
    if (!match) throw new Error(`line ${index + 1} is not Key=Value without spaces: "${raw}"`);
    const [, key, value] = match as unknown as [string, string, string];
    if (key in values) throw new Error(`line ${index + 1} repeats ${key}`);
    values[key] = value;
  }
  return values;
}

export function loadCfg(path: string): Record<string, string> {
  return parseCfg(readFileSync(path, 'utf8'));
}
