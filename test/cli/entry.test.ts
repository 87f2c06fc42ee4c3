/**
 * The entry users run (`npx ami-pipeline`, bin/ami-pipeline.js: the TypeScript CLI through tsx).
 * The other CLI tests run the same source bundled, to start faster; this one runs it as it ships.
 */
import { spawnSync } from 'node:child_process';
import { BIN, isolatedHome } from './harness';

it('starts from bin/ami-pipeline.js and lists every command', () => {
  const result = spawnSync(process.execPath, [BIN, '--help'], { env: isolatedHome(), encoding: 'utf8' });
  expect(result.status).toBe(0);
  for (const command of ['status', 'run', 'history', 'rollback', 'check']) expect(result.stdout).toMatch(new RegExp(`^\\s+${command}\\b`, 'm'));
  // The SDK's warning about node 20 would bury the output; the entry silences it.
  expect(result.stderr).toBe('');
});

it('fails as the bundled CLI does: one line and exit 4 without credentials', () => {
  const result = spawnSync(process.execPath, [BIN, 'status'], { env: { ...isolatedHome(), AWS_REGION: 'eu-west-1' }, encoding: 'utf8' });
  expect(result.status).toBe(4);
  expect(result.stderr).toBe('ami-pipeline: no AWS credentials: set AWS_PROFILE or run aws configure / aws sso login\n');
});
