import { createRemoteJWKSet, jwtVerify, type CryptoKey, type JWTVerifyGetKey } from 'jose';
import { Id, Role, type Principal } from '@shopflow/contracts/api';
import { DEV_AUDIENCE, DEV_ISSUER, type DevKey } from '@shopflow/platform/auth';

/** Asymmetric only: `none` and every HS* are refused, so a public key can never be used as an HMAC secret. */
const ALGORITHMS = ['EdDSA', 'ES256', 'RS256'];
/** Clocks of the identity provider and the gateway may disagree by this much on exp and nbf. */
const CLOCK_SKEW_S = 30;
const SUBJECT = new RegExp(Id.pattern as string);

/** A token that does not prove who the caller is. Its message says why, for the logs, not for the client. */
export class InvalidToken extends Error {
  override name = 'InvalidToken';
}

/** Verifies bearer tokens. */
export interface Identity {
  /** The principal a token proves; rejects with InvalidToken otherwise. */
  verify(token: string): Promise<Principal>;
}

/** Verifies tokens signed with the gateway's development key (`npm run token`). */
export function localIdentity(key: Pick<DevKey, 'publicKey'>): Identity {
  return identity(key.publicKey, DEV_ISSUER, DEV_AUDIENCE);
}

/** Options of the remote key set; the defaults suit production. */
export interface JwksOptions {
  /** Keys are fetched again after this long (default 10 minutes). */
  cacheMaxAgeMs?: number;
  /** An unknown `kid` refetches the set at most this often (default 30 s), so bogus kids cannot flood the provider. */
  cooldownMs?: number;
}

/**
 * Verifies tokens against an identity provider's JWKS, fetched on first use and cached; a token
 * signed with a key the cache does not know yet (a rotation) refetches the set.
 */
export function jwksIdentity(url: URL, issuer: string, audience: string, options: JwksOptions = {}): Identity {
  const keys = createRemoteJWKSet(url, {
    cacheMaxAge: options.cacheMaxAgeMs ?? 600_000,
    cooldownDuration: options.cooldownMs ?? 30_000,
    timeoutDuration: 5000,
  });
  return identity(keys, issuer, audience);
}

function identity(key: CryptoKey | JWTVerifyGetKey, issuer: string, audience: string): Identity {
  return {
    async verify(token) {
      let payload;
      try {
        const options = {
          algorithms: ALGORITHMS,
          issuer,
          audience,
          clockTolerance: CLOCK_SKEW_S,
          requiredClaims: ['sub', 'exp'],
        };
        ({ payload } = typeof key === 'function' ? await jwtVerify(token, key, options) : await jwtVerify(token, key, options));
      } catch (error) {
        throw new InvalidToken((error as Error).message, { cause: error });
      }
      // The subject is what customer_id must equal, so it must be one; it also travels in a header.
      if (typeof payload.sub !== 'string' || !SUBJECT.test(payload.sub) || payload.sub.length > 128) {
        throw new InvalidToken('the subject is not a valid id');
      }
      return { subject: payload.sub, role: payload.role === Role.Admin ? Role.Admin : Role.Customer };
    },
  };
}
