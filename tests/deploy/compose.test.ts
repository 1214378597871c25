// deploy/compose.yaml, checked offline: no Docker engine runs here. DCLint validates it against
// the Compose Specification's schema and its rules; the checks then hold each service's
// environment against what its code reads, the dependencies and healthchecks, the three NATS
// nodes and the databases. The second half feeds broken files to the same checks.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '@shopflow/devkit';
import { checkCompose, interpolate, lintCompose, readEnvFile } from './compose-checks.js';
import { checkNatsConfig } from './k8s-checks.js';
import { natsConfigTest } from './nats-config.js';

const DIR = path.join(REPO_ROOT, 'deploy');
const FILE = path.join(DIR, 'compose.yaml');
const ENV_EXAMPLE = path.join(DIR, '.env.example');
const compose = fs.readFileSync(FILE, 'utf8');

/** The compose file with `from` replaced by `to` (which must be there), linted and checked. */
function changed(from: string | RegExp, to: string): string[] {
  const text = compose.replace(from, to);
  if (text === compose) throw new Error(`${String(from)} is not in compose.yaml`);
  return [...lintCompose(FILE, text), ...checkCompose(text, DIR, ENV_EXAMPLE)];
}

describe('deploy/compose.yaml', () => {
  it('passes DCLint: the Compose schema and its rules', () => {
    expect(lintCompose(FILE)).toEqual([]);
  });

  it('has every service, healthchecks, dependencies, environments, NATS nodes and databases as they must be', () => {
    expect(checkCompose(compose, DIR, ENV_EXAMPLE)).toEqual([]);
  });

  it('asks for every password, and .env.example names each as a placeholder', () => {
    const { required } = interpolate(compose, {});
    const example = readEnvFile(ENV_EXAMPLE);
    expect([...required].sort()).toEqual(Object.keys(example).sort());
    for (const value of Object.values(example)) expect(value).toMatch(/^CHANGE-ME/);
  });

  it("the nodes' nats.conf is one nats-server accepts (nats-server -t)", () => {
    const config = fs.readFileSync(path.join(DIR, 'compose/nats.conf'), 'utf8');
    expect(natsConfigTest(config)).toEqual({ status: 0, output: expect.stringContaining('is valid') });
  });
});

describe('the compose checks catch broken files', () => {
  it('an unknown key', () => {
    expect(changed('  gateway:\n    depends_on:', '  gateway:\n    dependson: {}\n    depends_on:')).toContainEqual(
      expect.stringContaining('invalid-schema: ComposeValidationError: instancePath="/services/gateway"'),
    );
  });

  it('a dependency on a service that does not exist, one that is not waited for', () => {
    const problems = changed(
      '      postgres:\n        condition: service_healthy\n    environment:\n      <<: [*service-env, *nats-url]\n      SERVICE: inventory',
      '      postgre:\n        condition: service_started\n    environment:\n      <<: [*service-env, *nats-url]\n      SERVICE: inventory',
    );
    expect(problems).toContain('compose: inventory depends on postgre, which is not a service');
    expect(problems).toContain('compose: inventory: does not wait for postgres');
  });

  it('a service without a healthcheck', () => {
    expect(
      changed(/ {4}healthcheck:\n {6}test: \['CMD', 'pg_isready'[^\n]*\n/, '    healthcheck:\n      disable: true\n'),
    ).toContain('compose: postgres has no healthcheck');
  });

  it('an environment variable nothing reads, a NATS_URL without every node, a database the init script does not make', () => {
    const problems = changed(
      '  NATS_URL: nats://nats-1:4222,nats://nats-2:4222,nats://nats-3:4222',
      '  NATS_URL: nats://nats-1:4222',
    );
    expect(problems).toContain('compose: notification: NATS_URL lacks nats-2, nats-3');
    const more = changed(
      '      SAGA_ORCHESTRATOR_PORT: 8085\n      SAGA_DATABASE_URL',
      '      SAGA_ORCHESTRATOR_PORT: 8085\n      SAGA_PORT: 8085\n      SAGA_DATABASE_URL',
    );
    expect(more).toContain('compose: saga: SAGA_PORT is set, but saga never reads it');
    expect(changed('@postgres:5432/shopflow_saga', '@postgres:5432/shopflow_sagas')).toContain(
      'compose: the init script does not create shopflow_sagas',
    );
  });

  it('a NATS node under the wrong name, a config that does not route to every node', () => {
    expect(changed('      SERVER_NAME: nats-2', '      SERVER_NAME: nats-1')).toContain('compose: nats-2 has SERVER_NAME nats-1');
    const config = fs.readFileSync(path.join(DIR, 'compose/nats.conf'), 'utf8');
    expect(
      checkNatsConfig(config.replace('    nats://nats-3:6222\n', ''), 'compose: nats-1', ['nats-1', 'nats-2', 'nats-3']),
    ).toContain('compose: nats-1: nats.conf routes nats-1:6222 nats-2:6222, not every node: nats-1:6222 nats-2:6222 nats-3:6222');
  });
});
