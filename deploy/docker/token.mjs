#!/usr/bin/env node
// `docker compose exec -T gateway node deploy/docker/token.mjs <customer_id> [--admin] [--ttl 1h]`
// prints a bearer token signed with the gateway's local key under DATA_DIR: the image's
// `npm run token`, for a gateway without AUTH_JWKS_URL (the compose stack).
import { parseArgs } from 'node:util';
import { loadDevKey, mintToken, parseTtl } from '@shopflow/platform/auth';
import { Role } from '@shopflow/contracts/api';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { admin: { type: 'boolean', default: false }, ttl: { type: 'string', default: '1h' } },
});
if (positionals.length !== 1) {
  console.error('usage: node deploy/docker/token.mjs <customer_id> [--admin] [--ttl 1h]');
  process.exit(2);
}
try {
  const key = await loadDevKey(process.env.DATA_DIR ?? '/data');
  const role = values.admin ? Role.Admin : Role.Customer;
  const token = await mintToken(key, { subject: positionals[0], role, ttlSeconds: parseTtl(values.ttl) });
  process.stdout.write(`${token}\n`);
} catch (error) {
  console.error(`token: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
