/**
 * Sharing the stage's images with other accounts, organizations or organizational units (param
 * shareWith). Encrypted images can only be shared under a customer managed KMS key that the other
 * accounts may use: the AWS managed EBS key cannot be shared, so that combination is refused.
 */
import type { LaunchPermission } from '@aws-sdk/client-ec2';

export interface ShareTargets {
  accounts: string[];
  organizationArns: string[];
  organizationalUnitArns: string[];
}

export const NO_SHARING: ShareTargets = { accounts: [], organizationArns: [], organizationalUnitArns: [] };

const ACCOUNT = /^\d{12}$/;
const ORGANIZATION = /^arn:aws[a-z-]*:organizations::\d{12}:organization\/o-[a-z0-9]{10,32}$/;
const ORGANIZATIONAL_UNIT = /^arn:aws[a-z-]*:organizations::\d{12}:ou\/o-[a-z0-9]{10,32}\/ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}$/;

export function isSharing(targets: ShareTargets): boolean {
  return targets.accounts.length + targets.organizationArns.length + targets.organizationalUnitArns.length > 0;
}

/**
 * The shareWith param: a list of account ids, organization ARNs and OU ARNs. Returns the targets,
 * or the problem with the entry and its fix (the caller names the param).
 */
export function parseShareWith(raw: unknown, kmsKeyId: string): { ok: true; targets: ShareTargets } | { ok: false; problem: string } {
  const entries = raw === undefined || raw === null || raw === '' ? [] : raw;
  if (!Array.isArray(entries)) return { ok: false, problem: `must be a list of account ids, organization ARNs or OU ARNs; got ${JSON.stringify(raw)}` };
  const targets: ShareTargets = { accounts: [], organizationArns: [], organizationalUnitArns: [] };
  for (const [i, entry] of entries.entries()) {
    const value = String(entry).trim();
    if (ACCOUNT.test(value)) targets.accounts.push(value);
    else if (ORGANIZATION.test(value)) targets.organizationArns.push(value);
    else if (ORGANIZATIONAL_UNIT.test(value)) targets.organizationalUnitArns.push(value);
    else {
      return {
        ok: false,
        problem: `[${i}] ${JSON.stringify(value).slice(0, 80)} is not a 12-digit account id, an organization ARN (arn:aws:organizations::<account>:organization/o-...) or an OU ARN (.../ou/o-.../ou-...)`,
      };
    }
  }
  for (const list of Object.values(targets)) list.splice(0, list.length, ...new Set(list));
  if (isSharing(targets) && !kmsKeyId) {
    return {
      ok: false,
      problem:
        'sharing needs ebsKmsKeyId: the images are encrypted, and the AWS managed EBS key they would use otherwise cannot be shared with other accounts. Set ebsKmsKeyId to a customer managed key and allow the accounts to use it in its key policy (README, "Sharing images")',
    };
  }
  return { ok: true, targets };
}

/** The launch permissions to add: one per account, organization and OU. */
export function launchPermissions(targets: ShareTargets): LaunchPermission[] {
  return [
    ...targets.accounts.map((UserId) => ({ UserId })),
    ...targets.organizationArns.map((OrganizationArn) => ({ OrganizationArn })),
    ...targets.organizationalUnitArns.map((OrganizationalUnitArn) => ({ OrganizationalUnitArn })),
  ];
}
