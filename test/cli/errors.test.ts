import { isolatedHome, lines, runCli, runCliInProcess } from './harness';

/** What a user sees when something is wrong before any AWS call succeeds: one line and exit 4. */
const COMMANDS = ['status', 'run', 'history', 'rollback', 'check'];

describe('no credentials', () => {
  // No AWS keys in the environment, empty config files, no endpoint: the SDK finds nothing.
  const env = { ...isolatedHome(), AWS_REGION: 'eu-west-1' };

  it.each(COMMANDS)('%s says so in one line, with the fix, and exits 4', async (command) => {
    const result = await runCli([command, ...(command === 'rollback' ? ['--yes'] : [])], env);
    expect(result.code).toBe(4);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe('ami-pipeline: no AWS credentials: set AWS_PROFILE or run aws configure / aws sso login\n');
  });

  it('shows the stack trace with --debug', async () => {
    const result = await runCli(['status', '--debug'], env);
    expect(result.code).toBe(4);
    expect(lines(result.stderr)[0]).toBe('ami-pipeline: no AWS credentials: set AWS_PROFILE or run aws configure / aws sso login');
    expect(result.stderr).toMatch(/CredentialsProviderError[\s\S]*\n\s+at /);
  });

  it.each([
    [['--profile', 'nope'], {}],
    [[], { AWS_PROFILE: 'nope' }],
  ])('names the profile that gave none (%j %j)', async (args, extra) => {
    const result = await runCli(['status', ...args], { ...env, ...extra });
    expect(result.code).toBe(4);
    expect(result.stderr).toBe(
      'ami-pipeline: no AWS credentials for profile "nope": check the name (aws configure list-profiles), or run aws configure / aws sso login\n',
    );
  });
});

it('asks for a region when none is set anywhere', async () => {
  const result = await runCli(['status'], { ...isolatedHome(), AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' });
  expect(result.code).toBe(4);
  expect(result.stderr).toBe('ami-pipeline: no AWS region: pass --region, or set AWS_REGION (or a region in your AWS profile)\n');
});

describe('usage errors', () => {
  it.each([
    [['stauts'], "ami-pipeline: unknown command 'stauts' (Did you mean status?) (see ami-pipeline --help)"],
    [['status', '--jsn'], "ami-pipeline: unknown option '--jsn' (Did you mean --json?) (see ami-pipeline --help)"],
    [['status', '--runs', 'many'], "ami-pipeline: option '--runs <count>' argument 'many' is invalid. expected a whole number from 0 to 50, e.g. 5 (see ami-pipeline --help)"],
    [['status', '--stage', 'prod/eu'], "ami-pipeline: option '--stage <name>' argument 'prod/eu' is invalid. expected a stage name like dev or prod (letters, digits, hyphens) (see ami-pipeline --help)"],
    [['run', '--source-ami'], "ami-pipeline: option '--source-ami <ami-id>' argument missing (see ami-pipeline --help)"],
  ])('%j is one line and exit 4', async (args, message) => {
    const result = await runCliInProcess(args);
    expect(result.code).toBe(4);
    expect(result.stderr).toBe(`${message}\n`);
  });
});

it('a usage error is one line and exit 4 from the process too (the bundled CLI)', async () => {
  const result = await runCli(['stauts'], isolatedHome());
  expect(result.code).toBe(4);
  expect(result.stdout).toBe('');
  expect(result.stderr).toBe("ami-pipeline: unknown command 'stauts' (Did you mean status?) (see ami-pipeline --help)\n");
});

describe('--help', () => {
  it.each(COMMANDS)('%s has a description, its options, the global options and an example', async (command) => {
    const result = await runCliInProcess([command, '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Usage: ami-pipeline ${command} [options]`);
    expect(result.stdout).toContain('Global Options:');
    expect(result.stdout).toContain('--endpoint-url <url>');
    expect(result.stdout).toMatch(new RegExp(`Examples:\\n  \\$ ami-pipeline ${command}`));
  });

  it.each(['run', 'rollback'])('%s documents its exit codes', async (command) => {
    const result = await runCliInProcess([command, '--help']);
    for (const code of ['0', '1', '2', '3', '4', '5', '130']) expect(result.stdout).toMatch(new RegExp(`\\n\\s+${code}  \\w`));
  });

  it('lists every command', async () => {
    const result = await runCli(['--help'], isolatedHome());
    expect(result.code).toBe(0);
    for (const command of COMMANDS) expect(result.stdout).toMatch(new RegExp(`\\n  ${command} \\[options\\]`));
  });
});

describe('bad options and settings: one line of our own, exit 4, nothing started', () => {
  const env = { ...isolatedHome(), AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y', AWS_REGION: 'eu-west-1' };

  it.each([
    [['status', '--region', 'us-east-1; rm'], "option '--region <region>' argument 'us-east-1; rm' is invalid. expected an AWS region name like us-east-1 or eu-west-1"],
    [['status', '--endpoint-url', 'not a url'], "option '--endpoint-url <url>' argument 'not a url' is invalid. expected a URL like http://127.0.0.1:5000"],
    [['status', '--runs', '5000'], "option '--runs <count>' argument '5000' is invalid. expected a whole number from 0 to 50, e.g. 5"],
    [['history', '--limit', '0'], "option '--limit <count>' argument '0' is invalid. expected a whole number from 1 to 1000, e.g. 5"],
  ])('%j', async (args, message) => {
    const result = await runCliInProcess(args);
    expect(result.code).toBe(4);
    expect(result.stderr).toBe(`ami-pipeline: ${message} (see ami-pipeline --help)\n`);
  });

  it.each([
    [{ AWS_REGION: 'us-east-1; rm' }, "the AWS region (AWS_REGION or your profile's region) is not a region name like us-east-1; fix it or pass --region"],
    [{ AWS_ENDPOINT_URL: 'not a url' }, 'AWS_ENDPOINT_URL is not a URL; set it to one like http://127.0.0.1:5000, or unset it to reach AWS'],
  ])('from the environment %j', async (extra, message) => {
    const result = await runCli(['status'], { ...env, ...extra });
    expect(result.code).toBe(4);
    expect(result.stderr).toBe(`ami-pipeline: ${message}\n`);
  });

  it('rollback --help describes only what rollback has (no --dry-run)', async () => {
    const result = await runCliInProcess(['rollback', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain('dry-run');
    expect(result.stdout).toContain('5  skipped: another run held the fleet; nothing changed');
  });
});
