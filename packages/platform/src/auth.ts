import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { SignJWT, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import { Role } from '@shopflow/contracts/api';

/** The issuer and audience of tokens signed with the local development key. */
export const DEV_ISSUER = 'shopflow-dev';
export const DEV_AUDIENCE = 'shopflow';

/** The local signing key: the gateway verifies with `publicKey`; `npm run token` and tests sign with `privateKey`. */
export interface DevKey {
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
}

/** Where the development key pair lives under a DATA_DIR (a private JWK, mode 0600). */
export function devKeyPath(dataDir: string): string {
  return path.join(dataDir, 'gateway', 'signing-key.json');
}

/**
 * The Ed25519 key pair under `dataDir`, made on first use and kept. Safe when the gateway and
 * `npm run token` race to make it: the first file written wins and both read that one.
 */
export async function loadDevKey(dataDir: string): Promise<DevKey> {
  const file = devKeyPath(dataDir);
  try {
    return await readDevKey(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: randomUUID(), alg: 'EdDSA', use: 'sig' };
  // Written whole under another name, then linked: a reader never sees half a key, and link fails if another writer won.
  const temp = `${file}.${process.pid}.${randomUUID()}`;
  await fs.writeFile(temp, JSON.stringify(jwk), { mode: 0o600, flag: 'wx' });
  try {
    await fs.link(temp, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    await fs.rm(temp, { force: true });
  }
  return readDevKey(file);
}

async function readDevKey(file: string): Promise<DevKey> {
  const jwk = JSON.parse(await fs.readFile(file, 'utf8')) as JWK & { kid: string };
  const pub: JWK = { ...jwk };
  delete pub.d;
  return {
    kid: jwk.kid,
    privateKey: (await importJWK(jwk, 'EdDSA')) as CryptoKey,
    publicKey: (await importJWK(pub, 'EdDSA')) as CryptoKey,
  };
}

/** What a token says: whose it is, whether it is an admin's, and how long it lasts. */
export interface TokenClaims {
  subject: string;
  role?: Role;
  /** Seconds; default one hour. */
  ttlSeconds?: number;
}

/** A bearer token (JWT, EdDSA) signed with the development key, as the gateway's local mode accepts. */
export async function mintToken(key: DevKey, { subject, role = Role.Customer, ttlSeconds = 3600 }: TokenClaims): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ role })
    .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT', kid: key.kid })
    .setIssuer(DEV_ISSUER)
    .setAudience(DEV_AUDIENCE)
    .setSubject(subject)
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + ttlSeconds)
    .sign(key.privateKey);
}

/** Parses a lifetime such as `90s`, `15m`, `1h` or `7d` (a bare number is seconds) into seconds. */
export function parseTtl(text: string): number {
  const match = /^(\d+)([smhd]?)$/.exec(text.trim());
  if (!match) throw new Error(`--ttl ${text} is not a duration such as 30m, 1h or 7d`);
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 }[match[2] as '' | 's' | 'm' | 'h' | 'd'];
  const seconds = Number(match[1]) * unit;
  if (seconds < 1) throw new Error('--ttl must be at least one second');
  return seconds;
}
