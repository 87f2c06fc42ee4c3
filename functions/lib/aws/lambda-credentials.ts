/**
 * The credential chain the deployed functions use in place of the SDK's default one
 * (`@aws-sdk/credential-provider-node`): scripts/lambda-credentials.mjs puts this module where the
 * SDK clients import that package when esbuild bundles a function.
 *
 * Why: Lambda hands a function its execution role's credentials in the environment
 * (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN; reserved runtime variables), so of
 * the default chain only its first link ever answers there. The rest (profiles, SSO, login,
 * credential processes, web identity, instance metadata, and the STS and SSO clients they bring) is
 * about 120 KiB of every bundle that a cold start must still parse. A container credentials endpoint
 * (AWS_CONTAINER_CREDENTIALS_FULL_URI / _RELATIVE_URI) is kept as the second link, so an execution
 * environment that serves credentials that way works too. Tests and the CLI keep the default chain:
 * only the bundles change.
 */
import { fromEnv } from '@aws-sdk/credential-provider-env';
import { fromHttp } from '@aws-sdk/credential-provider-http';
import { CredentialsProviderError, chain, memoize } from '@smithy/core/config';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';

type ProviderInit = Parameters<typeof fromEnv>[0] & Parameters<typeof fromHttp>[0];

const CONTAINER_URIS = ['AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI'] as const;

/** Five minutes before they expire, credentials are fetched again (the SDK's default chain does the same). */
const REFRESH_BEFORE_MS = 300_000;

const expiresSoon = (credentials: AwsCredentialIdentity): boolean =>
  credentials.expiration !== undefined && credentials.expiration.getTime() - Date.now() < REFRESH_BEFORE_MS;
const expires = (credentials: AwsCredentialIdentity): boolean => credentials.expiration !== undefined;

/** Same name and shape as `@aws-sdk/credential-provider-node`'s export, which the clients' runtime config imports. */
export function defaultProvider(init: ProviderInit = {}): AwsCredentialIdentityProvider {
  const fromContainer: AwsCredentialIdentityProvider = async () => {
    if (!CONTAINER_URIS.some((name) => process.env[name])) {
      throw new CredentialsProviderError(
        'No credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY and AWS_CONTAINER_CREDENTIALS_FULL_URI/_RELATIVE_URI are all unset ' +
          '(this bundle reads credentials only the way Lambda provides them: from its environment)',
        { logger: init.logger, tryNextLink: false },
      );
    }
    return fromHttp(init)();
  };
  return memoize(chain(fromEnv(init), fromContainer), expiresSoon, expires);
}
