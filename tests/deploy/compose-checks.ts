import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DCLinter } from 'dclint';
import { parse } from 'yaml';
import { checkNatsConfig, configVariables } from './k8s-checks.js';
import { SERVICE_NAMES, checkServiceEnv, serviceEnv, type Env, type ServiceName } from './service-env.js';

type Obj = Record<string, unknown>;
const obj = (value: unknown): Obj => (value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Obj) : {});

/** The NATS nodes and the database the compose stack must have beside the six services. */
export const NATS_NODES = ['nats-1', 'nats-2', 'nats-3'];
const POSTGRES = 'postgres';

/** Compose's `${VAR}`, `${VAR:-default}`, `${VAR:?error}` (and `$$`), filled from `env`; also which variables it needs. */
export function interpolate(
  text: string,
  env: Record<string, string>,
): { text: string; required: Set<string>; unset: Set<string> } {
  const required = new Set<string>();
  const unset = new Set<string>();
  const out = text.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}/g,
    (whole, name: string | undefined, op?: string, arg?: string) => {
      if (name === undefined) return '$';
      const value = env[name];
      if (op?.endsWith('?')) required.add(name);
      if (value !== undefined && value !== '') return value;
      if (op?.endsWith('-')) return arg ?? '';
      unset.add(name);
      return whole;
    },
  );
  return { text: out, required, unset };
}

/** KEY=value lines of an env file. */
export function readEnvFile(file: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) env[m[1]!] = m[2]!;
  }
  return env;
}

/**
 * Lints a compose file with DCLint: the Compose Specification's JSON schema (unknown keys are
 * errors) and its rules. `text` stands in for the file's content, placed beside it so that
 * relative paths still resolve.
 */
export function lintCompose(file: string, text?: string): string[] {
  let target = file;
  let scratch: string | undefined;
  if (text !== undefined) {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'shopflow-compose-'));
    target = path.join(scratch, 'compose.yaml');
    fs.writeFileSync(target, text);
  }
  try {
    const linter = new DCLinter({ rules: {}, quiet: false, debug: false, exclude: [] });
    // dclint's declarations import their own types without extensions, which NodeNext cannot follow: say what it returns.
    const results = linter.lintFiles([target], false) as { messages: { line: number; rule: string; message: string }[] }[];
    return results.flatMap((result) => result.messages.map((m) => `${file}:${m.line} ${m.rule}: ${m.message}`));
  } finally {
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * Checks the compose stack beyond its schema: the services it must have, healthchecks and the
 * dependencies between them, each Shopflow service's environment against what its code reads, the
 * three NATS nodes routing to each other with the deployed users, and one database per service.
 * Relative paths resolve from `dir` (the compose file's directory); variables from `envFile`.
 */
export function checkCompose(text: string, dir: string, envFile: string): string[] {
  const problems: string[] = [];
  const example = readEnvFile(envFile);
  const filled = interpolate(text, example);
  for (const name of filled.required) {
    if (!(name in example)) problems.push(`compose: \${${name}} is required but ${path.basename(envFile)} does not list it`);
  }
  for (const name of filled.unset) problems.push(`compose: \${${name}} has no value and no default`);
  const compose = obj(parse(filled.text, { merge: true }));
  const services = obj(compose.services);
  const volumes = obj(compose.volumes);
  for (const name of [...SERVICE_NAMES, ...NATS_NODES, POSTGRES]) {
    if (!(name in services)) problems.push(`compose: no service ${name}`);
  }

  for (const [name, value] of Object.entries(services)) {
    const service = obj(value);
    const health = obj(service.healthcheck);
    if (!Array.isArray(health.test) || health.test.length === 0 || health.disable === true) {
      problems.push(`compose: ${name} has no healthcheck`);
    }
    const dependsOn = obj(service.depends_on);
    for (const [target, condition] of Object.entries(dependsOn)) {
      if (!(target in services)) problems.push(`compose: ${name} depends on ${target}, which is not a service`);
      else if (obj(condition).condition !== 'service_healthy')
        problems.push(`compose: ${name} does not wait for ${target} to be healthy`);
    }
    for (const mount of Array.isArray(service.volumes) ? service.volumes : []) {
      const source = String(mount).split(':')[0]!;
      if (source.startsWith('.') || source.startsWith('/')) {
        if (!fs.existsSync(path.resolve(dir, source))) problems.push(`compose: ${name} mounts ${source}, which does not exist`);
      } else if (!(source in volumes)) {
        problems.push(`compose: ${name} mounts volume ${source}, which is not declared`);
      }
    }
    if (service.ports !== undefined && name !== 'gateway')
      problems.push(`compose: ${name} publishes ports; only the gateway faces clients`);
  }

  // Where each service is reached inside the compose network: its name and its main port.
  const envOf = (name: string): Env =>
    new Map(Object.entries(obj(obj(services[name]).environment)).map(([k, v]) => [k, String(v)]));
  const serviceHost = (name: ServiceName) => ({ host: name, port: Number(envOf(name).get(serviceEnv(name).portEnv)) });
  for (const name of SERVICE_NAMES) {
    const service = obj(services[name]);
    if (Object.keys(service).length === 0) continue;
    const label = `compose: ${name}`;
    const build = obj(service.build);
    const context = path.resolve(dir, String(build.context));
    if (!fs.existsSync(path.join(context, String(build.dockerfile))))
      problems.push(`${label}: builds ${String(build.dockerfile)}, not found`);
    if (service.read_only !== true) problems.push(`${label}: root filesystem is not read-only`);
    if (!(service.cap_drop as unknown[] | undefined)?.includes('ALL')) problems.push(`${label}: does not drop every capability`);
    const env = envOf(name);
    problems.push(...checkServiceEnv(name, env, label, { serviceHost, natsHosts: NATS_NODES }));
    const wants = serviceEnv(name);
    const needs = [...(wants.database ? [POSTGRES] : []), ...(wants.nats ? NATS_NODES : []), ...wants.calls];
    for (const target of needs) {
      if (!(target in obj(service.depends_on))) problems.push(`${label}: does not wait for ${target}`);
    }
    if (wants.database) {
      const url = new URL(env.get(`${name.toUpperCase()}_DATABASE_URL`) ?? 'postgres://missing/');
      if (url.hostname !== POSTGRES || (url.port !== '' && url.port !== '5432'))
        problems.push(`${label}: its database is not on ${POSTGRES}:5432`);
    }
  }

  // The three nodes: one config, routes to each other, each with its name and every password it uses.
  const configs = new Set<string>();
  for (const node of NATS_NODES) {
    const service = obj(services[node]);
    if (Object.keys(service).length === 0) continue;
    if (!/^nats:2\.(1\d|[2-9]\d)/.test(String(service.image)))
      problems.push(`compose: ${node} runs ${String(service.image)}, not nats 2.10 or later`);
    const mount = (Array.isArray(service.volumes) ? service.volumes : [])
      .map(String)
      .find((v) => v.endsWith(':/etc/nats/nats.conf:ro'));
    if (!mount) {
      problems.push(`compose: ${node} does not mount its nats.conf read-only at /etc/nats/nats.conf`);
      continue;
    }
    const file = path.resolve(dir, mount.split(':')[0]!);
    configs.add(file);
    if (!fs.existsSync(file)) continue;
    const config = fs.readFileSync(file, 'utf8');
    const env = obj(service.environment);
    if (env.SERVER_NAME !== node) problems.push(`compose: ${node} has SERVER_NAME ${String(env.SERVER_NAME)}`);
    for (const variable of configVariables(config)) {
      if (!(variable in env)) problems.push(`compose: ${node}: nats.conf uses $${variable}, which its environment lacks`);
    }
    if (configs.size === 1 && node === NATS_NODES[0]) problems.push(...checkNatsConfig(config, `compose: ${node}`, NATS_NODES));
  }
  if (configs.size > 1) problems.push('compose: the NATS nodes mount different configurations');

  // One database per service, created by the init script the postgres container runs.
  const postgres = obj(services[POSTGRES]);
  const init = (Array.isArray(postgres.volumes) ? postgres.volumes : [])
    .map(String)
    .find((v) => v.includes('/docker-entrypoint-initdb.d/'));
  const initSql =
    init && fs.existsSync(path.resolve(dir, init.split(':')[0]!))
      ? fs.readFileSync(path.resolve(dir, init.split(':')[0]!), 'utf8')
      : '';
  const databases = new Set<string>();
  for (const name of SERVICE_NAMES.filter((s) => serviceEnv(s).database)) {
    const url = envOf(name).get(`${name.toUpperCase()}_DATABASE_URL`);
    if (url === undefined) continue;
    const database = new URL(url).pathname.slice(1);
    if (databases.has(database)) problems.push(`compose: ${name} shares database ${database} with another service`);
    databases.add(database);
    if (!new RegExp(`^CREATE DATABASE ${database};$`, 'm').test(initSql))
      problems.push(`compose: the init script does not create ${database}`);
  }
  return problems;
}
