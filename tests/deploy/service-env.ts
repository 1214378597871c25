import fs from 'node:fs';
import path from 'node:path';
import { SERVICE_EVENTS } from '@shopflow/contracts';
import { DATA_SERVICES, REPO_ROOT } from '@shopflow/devkit';
import { SERVICE_NAMES, ServiceDefaults, type ServiceName } from '@shopflow/platform/config';

export { SERVICE_NAMES, ServiceDefaults, type ServiceName };

/**
 * Variables the deployments set for a service that its code does not read yet, because the
 * feature is being added in parallel (issue 11): the payment service's HTTP side port. Each entry
 * must go once the service reads it; the test says so.
 */
export const PENDING_READS: Partial<Record<ServiceName, string[]>> = {};

/** What one service's process reads from its environment, found in its sources. */
export interface ServiceEnv {
  /** Read by the service's own code (its sources, the platform, the packages it depends on). */
  code: Set<string>;
  /** Read by the image's entry point and healthcheck (deploy/docker/*.mjs). */
  image: Set<string>;
  /** The services it calls, so whose `<NAME>_SERVICE_URL` it needs. */
  calls: Set<ServiceName>;
  /** Whether it has a database (`<NAME>_DATABASE_URL`). */
  database: boolean;
  /** Whether it uses NATS (a row in SERVICE_EVENTS: NATS_URL and its own NATS user). */
  nats: boolean;
  /** The variable holding the port it serves HTTP on (/health, /ready, /metrics). */
  httpPortEnv: string;
  /** The variable holding its main port (the seed's), where the Service sends traffic. */
  portEnv: string;
}

const LITERAL_READS = [
  /\benv(?:String|Int|Number|Choice)\(\s*'([A-Z][A-Z0-9_]*)'/g,
  /\benv\.([A-Z][A-Z0-9_]*)\b/g,
  /\benv\[\s*'([A-Z][A-Z0-9_]*)'\s*\]/g,
  /\bportEnv:\s*'([A-Z][A-Z0-9_]*)'/g,
];
// `${service.toUpperCase()}_SERVICE_URL` and its kin: read for the service itself and those it calls,
// except a database URL, which a process reads only for itself (loadServiceConfig).
const TEMPLATE_READS = /`\$\{service\.toUpperCase\(\)\}_([A-Z][A-Z0-9_]*)`/g;
const CALLS = /\bservice(?:Url|Address)\(\s*'([a-z]+)'/g;

function sources(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((file) => /\.(ts|mjs)$/.test(file) && !file.endsWith('.test.ts'))
    .map((file) => fs.readFileSync(path.join(dir, file), 'utf8'));
}

function matches(texts: string[], pattern: RegExp): string[] {
  return texts.flatMap((text) => [...text.matchAll(pattern)].map((m) => m[1]!));
}

/** Reads a service's sources and says what its process needs from its environment. */
export function serviceEnv(service: ServiceName): ServiceEnv {
  const manifest = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'services', service, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
  };
  const packages = Object.keys(manifest.dependencies ?? {})
    .filter((name) => name.startsWith('@shopflow/'))
    .map((name) => path.join(REPO_ROOT, 'packages', name.slice('@shopflow/'.length), 'src'));
  const own = sources(path.join(REPO_ROOT, 'services', service, 'src'));
  const code = [...own, ...packages.flatMap(sources)];
  const calls = new Set(matches(own, CALLS).filter((name): name is ServiceName => SERVICE_NAMES.includes(name as ServiceName)));
  const reads = new Set(LITERAL_READS.flatMap((pattern) => matches(code, pattern)));
  for (const suffix of matches(code, TEMPLATE_READS)) {
    for (const name of suffix === 'DATABASE_URL' ? [service] : [service, ...calls]) reads.add(`${name.toUpperCase()}_${suffix}`);
  }
  const imageScripts = sources(path.join(REPO_ROOT, 'deploy', 'docker'));
  const image = new Set(LITERAL_READS.flatMap((pattern) => matches(imageScripts, pattern)));
  const portEnv = ServiceDefaults[service].portEnv;
  return {
    code: reads,
    image,
    calls,
    database: (DATA_SERVICES as readonly string[]).includes(service),
    nats: service in SERVICE_EVENTS,
    httpPortEnv: service === 'payment' ? 'PAYMENT_HTTP_PORT' : portEnv,
    portEnv,
  };
}

/** The paths the platform's HTTP server registers on every service (probes must use these). */
export function servedPaths(): Set<string> {
  const server = fs.readFileSync(path.join(REPO_ROOT, 'packages/platform/src/http/server.ts'), 'utf8');
  return new Set(matches([server], /\bapp\.get\(\s*'(\/[a-z/.]*)'/g));
}

/** The environment one container gets, resolved to values (a reference to a pod field is `undefined`). */
export type Env = Map<string, string | undefined>;

/**
 * Checks one service's environment as a deployment gives it: every variable is one the service (or
 * the image's scripts) reads, and everything it needs is there and points at the right place.
 * `where` resolves another service's name to the host and port its URL must use.
 */
export function checkServiceEnv(
  service: ServiceName,
  env: Env,
  label: string,
  where: { serviceHost: (name: ServiceName) => { host: string; port: number }; natsHosts: string[] },
): string[] {
  const wants = serviceEnv(service);
  const problems: string[] = [];
  const pending = PENDING_READS[service] ?? [];
  for (const name of pending) {
    if (wants.code.has(name))
      problems.push(`${service} now reads ${name}: remove it from PENDING_READS (tests/deploy/service-env.ts)`);
  }
  for (const name of env.keys()) {
    if (!wants.code.has(name) && !wants.image.has(name) && !pending.includes(name)) {
      problems.push(`${label}: ${name} is set, but ${service} never reads it`);
    }
  }
  const need = (name: string): string | undefined => {
    const value = env.get(name);
    if (value === undefined || value === '') problems.push(`${label}: ${name} is not set`);
    return value;
  };
  if (need('SERVICE') !== undefined && env.get('SERVICE') !== service) {
    problems.push(`${label}: SERVICE=${env.get('SERVICE')}, not ${service}`);
  }
  if (need('HOST') !== undefined && env.get('HOST') !== '0.0.0.0') {
    problems.push(`${label}: HOST=${env.get('HOST')}: other pods could not reach it (0.0.0.0)`);
  }
  for (const port of new Set([wants.portEnv, wants.httpPortEnv])) {
    need(port);
    if (!wants.code.has(port) && !pending.includes(port)) problems.push(`${label}: ${service} does not listen on ${port}`);
  }
  if (wants.database) {
    const url = need(`${service.toUpperCase()}_DATABASE_URL`);
    if (url !== undefined && !/^postgres(ql)?:\/\//.test(url)) {
      problems.push(`${label}: ${service.toUpperCase()}_DATABASE_URL is not a postgres:// URL (SQLite is for one host)`);
    }
  }
  if (wants.nats) {
    const urls = need('NATS_URL');
    if (urls !== undefined) {
      const hosts = urls.split(',').map((u) => new URL(u).hostname);
      const missing = where.natsHosts.filter((h) => !hosts.includes(h));
      if (missing.length > 0) problems.push(`${label}: NATS_URL lacks ${missing.join(', ')}`);
    }
    if (need('NATS_USER') !== undefined && env.get('NATS_USER') !== service) {
      problems.push(`${label}: NATS_USER=${env.get('NATS_USER')}, not its own user ${service}`);
    }
    need('NATS_PASSWORD');
  }
  for (const callee of wants.calls) {
    const url = need(`${callee.toUpperCase()}_SERVICE_URL`);
    if (url === undefined) continue;
    const expected = where.serviceHost(callee);
    const actual = new URL(url);
    if (actual.hostname !== expected.host || Number(actual.port) !== expected.port) {
      problems.push(
        `${label}: ${callee.toUpperCase()}_SERVICE_URL=${url}, but ${callee} is at ${expected.host}:${expected.port}`,
      );
    }
  }
  return problems;
}
