import { launchPermissions, parseShareWith } from '../../functions/lib/decisions/sharing';

const KEY = 'arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555';
const ORG = 'arn:aws:organizations::111122223333:organization/o-abcdefghij';
const OU = 'arn:aws:organizations::111122223333:ou/o-abcdefghij/ou-abcd-efghijkl';

describe('parseShareWith', () => {
  it('sorts accounts, organizations and OUs, once each', () => {
    expect(parseShareWith(['210987654321', ORG, OU, '210987654321'], KEY)).toEqual({
      ok: true,
      targets: { accounts: ['210987654321'], organizationArns: [ORG], organizationalUnitArns: [OU] },
    });
    expect(parseShareWith([], '')).toEqual({ ok: true, targets: { accounts: [], organizationArns: [], organizationalUnitArns: [] } });
    expect(parseShareWith(undefined, '')).toMatchObject({ ok: true });
  });

  it('refuses sharing encrypted images without a customer managed key, saying why and what to set', () => {
    const result = parseShareWith(['210987654321'], '');
    expect(result).toMatchObject({ ok: false });
    expect(!result.ok && result.problem).toMatch(/^sharing needs ebsKmsKeyId: .*AWS managed EBS key .*cannot be shared.*key policy/);
  });

  it('names the entry that is neither an account, an organization nor an OU', () => {
    expect(parseShareWith(['210987654321', '1234'], KEY)).toEqual({ ok: false, problem: expect.stringMatching(/^\[1\] "1234" is not a 12-digit account id/) });
    expect(parseShareWith(['arn:aws:organizations::111122223333:ou/o-abc/ou-x'], KEY)).toMatchObject({ ok: false });
    expect(parseShareWith('210987654321', KEY)).toEqual({ ok: false, problem: expect.stringMatching(/^must be a list/) });
  });
});

it('gives one launch permission per target, each of its own kind', () => {
  expect(launchPermissions({ accounts: ['210987654321'], organizationArns: [ORG], organizationalUnitArns: [OU] })).toEqual([
    { UserId: '210987654321' },
    { OrganizationArn: ORG },
    { OrganizationalUnitArn: OU },
  ]);
});
