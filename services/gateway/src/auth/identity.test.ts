import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadDevKey, mintToken } from '@shopflow/platform/auth';
import { InvalidToken, localIdentity } from './identity.js';

describe('the verified-token cache', () => {
  afterEach(() => vi.useRealTimers());

  it('answers a token it verified again at once, and still refuses it once it has expired', async () => {
    const key = await loadDevKey(fs.mkdtempSync(path.join(os.tmpdir(), 'sf-identity-')));
    const identity = localIdentity(key);
    const token = await mintToken(key, { subject: 'c1', ttlSeconds: 60 });
    expect(await identity.verify(token)).toEqual({ subject: 'c1', role: 'customer' });
    expect(await identity.verify(token)).toEqual({ subject: 'c1', role: 'customer' });

    // Past its expiry and the clock skew: the cached verdict must not outlive the token.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 120_000);
    await expect(identity.verify(token)).rejects.toBeInstanceOf(InvalidToken);
  });

  it('does not let a tampered token ride on a cached one', async () => {
    const key = await loadDevKey(fs.mkdtempSync(path.join(os.tmpdir(), 'sf-identity-')));
    const identity = localIdentity(key);
    const token = await mintToken(key, { subject: 'c1' });
    await identity.verify(token);
    const [header, , signature] = token.split('.');
    const forged = `${header}.${Buffer.from(JSON.stringify({ sub: 'c2', role: 'admin', exp: 9e9 })).toString('base64url')}.${signature}`;
    await expect(identity.verify(forged)).rejects.toBeInstanceOf(InvalidToken);
  });
});
