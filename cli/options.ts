import { InvalidArgumentError } from 'commander';
import { AWS_REGION_PATTERN } from '../functions/lib/contracts';

/** A whole number from `min` to `max`, for counts the CLI turns into API calls. */
export function boundedInteger(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}, e.g. 5`);
    }
    return n;
  };
}

/** AWS region names: us-east-1, us-gov-west-1, cn-north-1, eusc-de-east-1... */
export function regionName(value: string): string {
  if (!AWS_REGION_PATTERN.test(value)) throw new InvalidArgumentError('expected an AWS region name like us-east-1 or eu-west-1');
  return value;
}

/** An endpoint the SDK can send requests to: an http(s) URL. */
export function endpointUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError('expected a URL like http://127.0.0.1:5000');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidArgumentError('expected an http:// or https:// URL');
  return value;
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
