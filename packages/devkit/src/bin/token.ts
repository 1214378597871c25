#!/usr/bin/env node
// `npm run token -- <customer_id> [--admin] [--ttl 1h]` prints a bearer token signed with the local
// development key under DATA_DIR (./.data by default), the key the gateway verifies with when no
// AUTH_JWKS_URL is set. The key is made here if the gateway has not made it yet.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Id, Role } from '@shopflow/contracts/api';
import { loadDevKey, mintToken, parseTtl } from '@shopflow/platform/auth';
import { REPO_ROOT } from '../supervisor.js';

const usage = 'usage: npm run token -- <customer_id> [--admin] [--ttl 1h]';

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { admin: { type: 'boolean', default: false }, ttl: { type: 'string', default: '1h' } },
  });
  const subject = positionals[0];
  if (positionals.length !== 1 || subject === undefined) {
    console.error(usage);
    return 2;
  }
  // The gateway refuses a subject that cannot be a customer id: say so now rather than with a 401 later.
  if (!new RegExp(Id.pattern as string).test(subject) || subject.length > 128) {
    console.error(`token: ${subject} is not a valid id (letters, digits and . _ : -, at most 128)`);
    return 2;
  }
  const dataDir = path.resolve(process.env.DATA_DIR ?? path.join(REPO_ROOT, '.data'));
  const key = await loadDevKey(dataDir);
  const role = values.admin ? Role.Admin : Role.Customer;
  process.stdout.write(`${await mintToken(key, { subject, role, ttlSeconds: parseTtl(values.ttl) })}\n`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`token: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
