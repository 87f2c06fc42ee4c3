/** One version of an SSM parameter, as GetParameterHistory reports it. */
export interface ParameterVersion {
  version: number;
  value: string;
  modifiedAt?: Date;
}

/**
 * The image the fleet ran before the current one: the newest earlier version of the *current*
 * parameter whose value differs from the latest. Re-promoting the same AMI (a rerun) does not
 * count as a change, so a rollback always moves to a different image.
 */
export function previousDistinctValue(history: ParameterVersion[]): ParameterVersion | undefined {
  const newestFirst = [...history].sort((a, b) => b.version - a.version);
  const latest = newestFirst[0];
  if (!latest) return undefined;
  return newestFirst.find((v) => v.value !== latest.value);
}
