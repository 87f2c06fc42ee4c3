import { InvalidArgumentError } from 'commander';

export function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number, e.g. 5');
  return n;
}

/** Stage names become SSM paths and stack names: keep them to what serverless accepts. */
export function stageName(value: string): string {
  if (!/^[A-Za-z0-9-]{1,64}$/.test(value)) throw new InvalidArgumentError('expected a stage name like dev or prod (letters, digits, hyphens)');
  return value;
}

/** `--clusters a,b` as the request's list. Empty entries are kept: the request's validation names them. */
export function clusterList(value: string): string[] {
  return value.split(',').map((name) => name.trim());
}
