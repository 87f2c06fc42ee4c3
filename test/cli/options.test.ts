/** --region takes every partition's region names (the contracts' AWS_REGION_PATTERN) and nothing else. */
import { InvalidArgumentError } from 'commander';
import { regionName } from '../../cli/options';

it.each(['us-east-1', 'us-gov-west-1', 'cn-northwest-1', 'us-isob-east-1', 'eusc-de-east-1'])('--region %s is taken as it is', (region) => {
  expect(regionName(region)).toBe(region);
});

it.each(['us-east-1; rm', 'US-EAST-1', 'us-east', 'useast1'])('--region %j is refused', (value) => {
  expect(() => regionName(value)).toThrow(InvalidArgumentError);
});
