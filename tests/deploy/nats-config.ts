import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findNatsServer, natsPermissions } from '@shopflow/devkit';

/** The services that use NATS, each with its own NATS user (`SERVICE_EVENTS`' rows). */
export const NATS_SERVICES = ['gateway', 'order', 'payment', 'inventory', 'notification', 'saga'] as const;

/** The environment variable a nats-server reads a user's password from (the config says `$NAME`). */
export function natsPasswordVar(user: string): string {
  return `NATS_${user.toUpperCase()}_PASSWORD`;
}

/**
 * The `authorization` block every deployed nats-server must carry, rendered from `natsPermissions`
 * (devkit) exactly as the deployed configurations hold it: one user per service with its own
 * permissions, and `admin` for the tools. Passwords are variables, filled from the environment.
 */
export function natsAuthorizationBlock(indent = ''): string {
  const quote = (subject: string) => JSON.stringify(subject);
  const lines = ['authorization {', '  users: ['];
  for (const service of NATS_SERVICES) {
    const { publish, subscribe } = natsPermissions(service);
    lines.push(
      '    {',
      `      user: ${service}`,
      `      password: $${natsPasswordVar(service)}`,
      '      permissions: {',
      '        publish: { allow: [',
      ...publish.map((s) => `          ${quote(s)}`),
      '        ] }',
      `        subscribe: { allow: [${subscribe.map(quote).join(', ')}] }`,
      '      }',
      '    }',
    );
  }
  lines.push('    # Unrestricted, for the operator tools (npm run dlq); never given to a service.');
  lines.push(`    { user: admin, password: $${natsPasswordVar('admin')} }`, '  ]', '}');
  return lines.map((line) => indent + line).join('\n');
}

/**
 * Runs `nats-server -t` on a configuration, with every variable it uses set. The nats-server here
 * may be 2.9, which does not know `sync_interval` (2.10): that one line is left out for it, and
 * checkNatsConfig holds that line itself.
 */
export function natsConfigTest(config: string): { status: number | null; output: string } {
  const server = findNatsServer();
  if (!server) throw new Error('nats-server is not installed (apt-get install nats-server)');
  const version = spawnSync(server, ['--version'], { encoding: 'utf8' }).stdout;
  const [, minor] = /v2\.(\d+)/.exec(version) ?? [];
  const text = Number(minor) >= 10 ? config : config.replace(/^\s*sync_interval:.*$/m, '');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shopflow-nats-conf-'));
  try {
    fs.writeFileSync(path.join(dir, 'nats.conf'), text);
    const env: Record<string, string> = { ...process.env, SERVER_NAME: 'nats-0' };
    for (const user of [...NATS_SERVICES, 'admin']) env[natsPasswordVar(user)] = `test-${user}`;
    const result = spawnSync(server, ['-t', '-c', path.join(dir, 'nats.conf')], { encoding: 'utf8', env });
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
