// The Kubernetes manifests in deploy/k8s, checked offline: no cluster runs here. Every object is
// validated against the Kubernetes OpenAPI schema of its kind (unknown fields included), every
// reference between them is resolved, and each service's probes, ports and environment are held
// against what its code really reads and serves. The second half feeds broken manifests to the
// same checks and expects each to be caught.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '@shopflow/devkit';
import { checkResources, kustomizeBuild, parseManifests, readKustomization, type Manifest } from './k8s-checks.js';
import { natsConfigTest } from './nats-config.js';

const BASE = path.join(REPO_ROOT, 'deploy/k8s/base');
const PRODUCTION = path.join(REPO_ROOT, 'deploy/k8s/overlays/production');
const kubectl = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0;

const base = readKustomization(BASE);

/** The base's objects, deep-copied and changed by `change`, then checked. */
function checkChanged(change: (find: (kind: string, name: string) => any) => void): string[] {
  const copy: Manifest[] = structuredClone(base.manifests);
  const find = (kind: string, name: string) => {
    const found = copy.find((m) => m.resource.kind === kind && m.resource.metadata?.name === name);
    if (!found) throw new Error(`${kind} ${name} is not in the base`);
    return found.resource;
  };
  change(find);
  return checkResources(copy);
}

const container = (deployment: any) => deployment.spec.template.spec.containers[0];

describe('deploy/k8s', () => {
  it('the base: every file listed exists, every object is valid, every reference resolves', () => {
    expect(base.problems).toEqual([]);
    expect(base.manifests.length).toBeGreaterThan(30);
    expect(checkResources(base.manifests)).toEqual([]);
  });

  it('the production overlay reads the same way, and its image override names the image in use', () => {
    const overlay = readKustomization(PRODUCTION);
    expect(overlay.problems).toEqual([]);
    expect(overlay.images).toEqual(['shopflow']);
    expect(checkResources(overlay.manifests)).toEqual([]);
  });

  it.skipIf(!kubectl)('kustomize (kubectl) builds both, and what it builds passes the same checks', () => {
    for (const dir of [BASE, PRODUCTION]) {
      const built = kustomizeBuild(dir);
      if (!built || 'error' in built) throw new Error(`kubectl kustomize ${dir}: ${built ? built.error : 'kubectl not found'}`);
      const rendered = parseManifests(`kustomize ${path.relative(REPO_ROOT, dir)}`, built.text);
      expect(rendered.problems).toEqual([]);
      expect(checkResources(rendered.manifests)).toEqual([]);
      const names = (ms: Manifest[]) => ms.map((m) => `${String(m.resource.kind)}/${String(m.resource.metadata?.name)}`).sort();
      const expected = dir === BASE ? base.manifests : readKustomization(dir).manifests;
      expect(names(rendered.manifests)).toEqual(names(expected));
      if (dir === PRODUCTION) {
        for (const { resource } of rendered.manifests) {
          if (resource.kind !== 'Namespace')
            expect((resource.metadata as any).namespace, String(resource.metadata?.name)).toBe('shopflow');
        }
        const images = rendered.manifests.flatMap(({ resource }) =>
          ((resource.spec as any)?.template?.spec?.containers ?? []).map((c: any) => c.image as string),
        );
        expect(new Set(images)).toEqual(new Set(['registry.example.com/shopflow:0.1.0', 'nats:2.10-alpine']));
      }
    }
  });

  it("the cluster's nats.conf is one nats-server accepts (nats-server -t)", () => {
    const configMap = base.manifests.find((m) => m.resource.kind === 'ConfigMap' && m.resource.metadata?.name === 'nats-config');
    const config = String((configMap?.resource.data as Record<string, string>)['nats.conf']);
    expect(natsConfigTest(config)).toEqual({ status: 0, output: expect.stringContaining('is valid') });
  });
});

describe('the checks catch broken manifests', () => {
  it('an unknown field, at the top or deep in a container', () => {
    const problems = checkChanged((find) => {
      find('Deployment', 'order').spec.template.spec.containers[0].livenessProbe.httpGet.pth = '/health';
      find('Service', 'order').spec.selectr = {};
    });
    expect(problems).toContainEqual(
      expect.stringContaining('Deployment order: unknown field /spec/template/spec/containers/0/livenessProbe/httpGet/pth'),
    );
    expect(problems).toContainEqual(expect.stringContaining('Service order: unknown field /spec/selectr'));
  });

  it('a value of the wrong type or format', () => {
    const problems = checkChanged((find) => {
      find('Deployment', 'saga').spec.replicas = 'two';
      container(find('Deployment', 'saga')).resources.limits.memory = 'a lot';
    });
    expect(problems).toContainEqual(expect.stringMatching(/Deployment saga: .*spec\/replicas must be integer/));
    expect(problems).toContainEqual(expect.stringMatching(/Deployment saga: .*limits\/memory must match format "quantity"/));
  });

  it('a Service whose selector matches nothing, a port no container has', () => {
    const problems = checkChanged((find) => {
      find('Service', 'inventory').spec.selector['app.kubernetes.io/name'] = 'inventroy';
      find('Service', 'payment').spec.ports[0].targetPort = 'grcp';
    });
    expect(problems).toContain('Service inventory: its selector matches 0 workloads, not one');
    expect(problems).toContain('Service payment: targetPort grcp is not a port of Deployment payment');
  });

  it('probes on the wrong path or port', () => {
    const problems = checkChanged((find) => {
      container(find('Deployment', 'order')).readinessProbe.httpGet.path = '/health';
      container(find('Deployment', 'payment')).livenessProbe.httpGet.port = 'grpc';
      container(find('Deployment', 'inventory')).livenessProbe.httpGet.port = 9999;
    });
    expect(problems).toContain('Deployment order: readinessProbe asks /health, not /ready');
    expect(problems).toContain('Deployment payment: livenessProbe goes to port grpc, not the HTTP port 8086 (PAYMENT_HTTP_PORT)');
    expect(problems).toContain('Deployment inventory container inventory: livenessProbe port 9999 is not a container port');
  });

  it('an environment variable the service never reads, one it needs but lacks, one pointing elsewhere', () => {
    const problems = checkChanged((find) => {
      const gateway = container(find('Deployment', 'gateway'));
      gateway.env.push({ name: 'GATEWAY_HOST', value: '0.0.0.0' });
      gateway.env = gateway.env.filter((e: any) => e.name !== 'SAGA_SERVICE_URL');
      const order = container(find('Deployment', 'order'));
      order.env = order.env.filter((e: any) => e.name !== 'ORDER_DATABASE_URL');
      order.env.find((e: any) => e.name === 'INVENTORY_SERVICE_URL').value = 'http://inventory:8080';
      // Another service's database is not the order service's to read.
      order.env.push({
        name: 'SAGA_DATABASE_URL',
        valueFrom: { secretKeyRef: { name: 'shopflow-database', key: 'SAGA_DATABASE_URL' } },
      });
    });
    expect(problems).toContain('Deployment gateway: GATEWAY_HOST is set, but gateway never reads it');
    expect(problems).toContain('Deployment gateway: SAGA_SERVICE_URL is not set');
    expect(problems).toContain('Deployment order: ORDER_DATABASE_URL is not set');
    expect(problems).toContain('Deployment order: SAGA_DATABASE_URL is set, but order never reads it');
    expect(problems).toContain(
      'Deployment order: INVENTORY_SERVICE_URL=http://inventory:8080, but inventory is at inventory:8083',
    );
  });

  it('a reference to a missing Secret key or ConfigMap, a Secret holding a real value', () => {
    const problems = checkChanged((find) => {
      container(find('Deployment', 'saga')).env.find((e: any) => e.name === 'NATS_PASSWORD').valueFrom.secretKeyRef.key =
        'NATS_SGA_PASSWORD';
      container(find('Deployment', 'notification')).envFrom[0].configMapRef.name = 'shopflow-conifg';
      find('Secret', 'shopflow-nats').stringData.NATS_ORDER_PASSWORD = 'hunter2';
    });
    expect(problems).toContain(
      'Deployment saga: NATS_PASSWORD refers to key NATS_SGA_PASSWORD of Secret shopflow-nats, which has none',
    );
    expect(problems).toContain('Deployment notification: refers to ConfigMap shopflow-conifg, which is not in the set');
    expect(problems).toContain(
      'Secret shopflow-nats: NATS_ORDER_PASSWORD does not say CHANGE-ME: no real secret in the repository',
    );
  });

  it('an autoscaler aiming at nothing, a budget that blocks every drain, a pod that may escalate', () => {
    const problems = checkChanged((find) => {
      find('HorizontalPodAutoscaler', 'notification').spec.scaleTargetRef.name = 'notifications';
      find('PodDisruptionBudget', 'order').spec.minAvailable = 2;
      const pod = find('Deployment', 'gateway').spec.template.spec;
      pod.containers[0].securityContext.allowPrivilegeEscalation = true;
      pod.enableServiceLinks = true;
    });
    expect(problems).toContain('HorizontalPodAutoscaler notification: scaleTargetRef Deployment notifications is not in the set');
    expect(problems).toContain('PodDisruptionBudget order: minAvailable 2 with as few as 2 replicas blocks every drain');
    expect(problems).toContain('Deployment gateway container gateway: allowPrivilegeEscalation is not false');
    expect(problems).toContain('Deployment gateway: enableServiceLinks is not false');
  });

  it("a NATS cluster that is not three nodes routing to each other with the services' users", () => {
    const problems = checkChanged((find) => {
      find('StatefulSet', 'nats').spec.replicas = 1;
      const config = find('ConfigMap', 'nats-config');
      config.data['nats.conf'] = config.data['nats.conf']
        .replace('nats://nats-2.nats-headless:6222', '')
        .replace('"orders.created"', '"orders.>"');
    });
    expect(problems).toContain('StatefulSet nats: replicas 1, not 3');
    expect(problems).toContainEqual(
      expect.stringContaining(
        'StatefulSet nats: nats.conf routes nats-0.nats-headless:6222 nats-1.nats-headless:6222, not every node',
      ),
    );
    expect(problems).toContainEqual(
      expect.stringContaining("StatefulSet nats: nats.conf's authorization block is not the one natsPermissions() gives"),
    );
  });

  it('a kustomization that lists a file that is not there', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shopflow-kustomize-'));
    try {
      fs.writeFileSync(
        path.join(dir, 'kustomization.yaml'),
        'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - missing.yaml\npatchez: []\n',
      );
      const read = readKustomization(dir);
      expect(read.problems).toContain(`${path.join(dir, 'kustomization.yaml')}: resource missing.yaml does not exist`);
      expect(read.problems).toContain(`${path.join(dir, 'kustomization.yaml')}: field patchez is not one this check understands`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a nats.conf that nats-server refuses', () => {
    expect(natsConfigTest('jetstream {\n  store_dir: /data\n  max_file_stor: 8G\n}\n').status).not.toBe(0);
  });
});
