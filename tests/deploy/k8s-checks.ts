import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { natsAuthorizationBlock, natsPasswordVar } from './nats-config.js';
import { nameOf, validateResource, type Resource } from './k8s-schema.js';
import { SERVICE_NAMES, checkServiceEnv, servedPaths, serviceEnv, type Env, type ServiceName } from './service-env.js';

type Obj = Record<string, unknown>;
/** A manifest value as text, for messages and keys. */
const str = (value: unknown): string => (typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value));

/** A resource and the file it came from. */
export interface Manifest {
  file: string;
  resource: Resource;
}

/** Parses every document of a YAML file; a syntax error is a problem, not an exception. */
export function parseManifests(
  file: string,
  text = fs.readFileSync(file, 'utf8'),
): { manifests: Manifest[]; problems: string[] } {
  const problems: string[] = [];
  const manifests: Manifest[] = [];
  for (const doc of parseAllDocuments(text)) {
    for (const error of doc.errors) problems.push(`${file}: ${error.message}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    if (typeof value !== 'object' || Array.isArray(value)) problems.push(`${file}: a document that is not an object`);
    else manifests.push({ file, resource: value as Resource });
  }
  return { manifests, problems };
}

const KUSTOMIZATION_FIELDS = new Set(['apiVersion', 'kind', 'resources', 'namespace', 'images', 'labels', 'commonAnnotations']);
const IMAGE_FIELDS = new Set(['name', 'newName', 'newTag', 'digest']);

/**
 * Reads a kustomization without building it: its own fields, and every resource it lists (a file,
 * or a directory with a kustomization of its own, read the same way). Fields beyond the few deploy/
 * uses are refused, so that what this reading understands is what kustomize would do.
 */
export function readKustomization(dir: string): { manifests: Manifest[]; problems: string[]; images: string[] } {
  const file = path.join(dir, 'kustomization.yaml');
  if (!fs.existsSync(file)) return { manifests: [], problems: [`${dir}: no kustomization.yaml`], images: [] };
  const { manifests: docs, problems } = parseManifests(file);
  const kustomization = docs[0]?.resource ?? {};
  if (kustomization.apiVersion !== 'kustomize.config.k8s.io/v1beta1' || kustomization.kind !== 'Kustomization') {
    problems.push(`${file}: not a kustomize.config.k8s.io/v1beta1 Kustomization`);
  }
  for (const key of Object.keys(kustomization)) {
    if (!KUSTOMIZATION_FIELDS.has(key)) problems.push(`${file}: field ${key} is not one this check understands`);
  }
  const manifests: Manifest[] = [];
  const resources = kustomization.resources;
  if (!Array.isArray(resources) || resources.length === 0) problems.push(`${file}: resources must list files`);
  for (const entry of Array.isArray(resources) ? resources : []) {
    const target = path.resolve(dir, str(entry));
    if (!fs.existsSync(target)) {
      problems.push(`${file}: resource ${str(entry)} does not exist`);
    } else if (fs.statSync(target).isDirectory()) {
      const inner = readKustomization(target);
      manifests.push(...inner.manifests);
      problems.push(...inner.problems);
    } else {
      const parsed = parseManifests(target);
      manifests.push(...parsed.manifests);
      problems.push(...parsed.problems);
    }
  }
  const images: string[] = [];
  for (const image of Array.isArray(kustomization.images) ? (kustomization.images as Record<string, unknown>[]) : []) {
    for (const key of Object.keys(image)) if (!IMAGE_FIELDS.has(key)) problems.push(`${file}: images entry field ${key}`);
    images.push(str(image.name));
  }
  // An image override that names no image in use does nothing: a typo would ship the base's image.
  const used = new Set(manifests.flatMap(({ resource }) => containersOf(resource).map((c) => imageName(str(c.image)))));
  for (const name of images) if (!used.has(name)) problems.push(`${file}: images entry ${name} matches no container's image`);
  return { manifests, problems, images };
}

/** Renders a kustomization with kubectl's built-in kustomize; undefined when kubectl is not installed. */
export function kustomizeBuild(dir: string): { text: string } | { error: string } | undefined {
  const result = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8', timeout: 60_000 });
  if (result.error && 'code' in result.error && result.error.code === 'ENOENT') return undefined;
  if (result.status !== 0) return { error: result.stderr || str(result.error) };
  return { text: result.stdout };
}

type Container = Obj & { name?: string; image?: string; ports?: Obj[]; env?: Obj[]; envFrom?: Obj[] };

const obj = (value: unknown): Obj => (value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Obj) : {});
const list = (value: unknown): Obj[] => (Array.isArray(value) ? value.map(obj) : []);
const labelsOf = (value: unknown): Record<string, string> => obj(value) as Record<string, string>;

function imageName(image: string): string {
  const slash = image.lastIndexOf('/');
  const colon = image.indexOf(':', slash + 1);
  return colon === -1 ? image : image.slice(0, colon);
}

function podSpecOf(resource: Resource): Obj | undefined {
  if (resource.kind !== 'Deployment' && resource.kind !== 'StatefulSet') return undefined;
  return obj(obj(obj(resource.spec).template).spec);
}

function containersOf(resource: Resource): Container[] {
  const pod = podSpecOf(resource);
  return pod ? list(pod.containers) : [];
}

function podLabelsOf(resource: Resource): Record<string, string> {
  return labelsOf(obj(obj(obj(resource.spec).template).metadata).labels);
}

function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  const entries = Object.entries(selector);
  return entries.length > 0 && entries.every(([k, v]) => labels[k] === v);
}

/** The container port a probe or Service port names (by name or number), if the container has it. */
function resolvePort(port: unknown, containers: Container[]): number | undefined {
  for (const c of containers) {
    for (const p of list(c.ports)) {
      if (p.name === port || p.containerPort === port) return p.containerPort as number;
    }
  }
  return undefined;
}

/** The objects in a set, by `Kind/name`. */
function index(manifests: Manifest[]): Map<string, Resource> {
  return new Map(manifests.map(({ resource }) => [`${str(resource.kind)}/${str(resource.metadata?.name)}`, resource]));
}

function dataOf(resource: Resource | undefined): Obj {
  if (!resource) return {};
  return { ...obj(resource.data), ...obj(resource.stringData) };
}

/** The environment a container gets: its env and envFrom resolved against the ConfigMaps and Secrets in the set. */
function resolveEnv(container: Container, objects: Map<string, Resource>, label: string, problems: string[]): Env {
  const env: Env = new Map();
  const lookup = (kind: 'ConfigMap' | 'Secret', name: unknown): Resource | undefined => {
    const found = objects.get(`${kind}/${str(name)}`);
    if (!found) problems.push(`${label}: refers to ${kind} ${str(name)}, which is not in the set`);
    return found;
  };
  for (const source of list(container.envFrom)) {
    const ref = source.configMapRef ? ['ConfigMap', obj(source.configMapRef)] : ['Secret', obj(source.secretRef)];
    const found = lookup(ref[0] as 'ConfigMap' | 'Secret', (ref[1] as Obj).name);
    for (const [key, value] of Object.entries(dataOf(found))) env.set(key, str(value));
  }
  for (const entry of list(container.env)) {
    const name = str(entry.name);
    if (entry.value !== undefined) {
      env.set(name, str(entry.value));
      continue;
    }
    const from = obj(entry.valueFrom);
    const ref = from.configMapKeyRef
      ? ['ConfigMap', obj(from.configMapKeyRef)]
      : from.secretKeyRef
        ? ['Secret', obj(from.secretKeyRef)]
        : undefined;
    if (!ref) {
      env.set(name, undefined); // a pod field: known only at run time
      continue;
    }
    const [kind, { name: object, key }] = ref as ['ConfigMap' | 'Secret', Obj];
    const data = dataOf(lookup(kind, object));
    if (!(str(key) in data))
      problems.push(`${label}: ${name} refers to key ${str(key)} of ${kind} ${str(object)}, which has none`);
    env.set(name, data[str(key)] === undefined ? undefined : str(data[str(key)]));
  }
  return env;
}

/** The pod and container settings the "restricted" Pod Security Standard demands, plus deploy/'s own. */
function checkPodSecurity(resource: Resource, label: string): string[] {
  const problems: string[] = [];
  const pod = podSpecOf(resource)!;
  const podSecurity = obj(pod.securityContext);
  if (podSecurity.runAsNonRoot !== true) problems.push(`${label}: pod securityContext.runAsNonRoot is not true`);
  if (obj(podSecurity.seccompProfile).type !== 'RuntimeDefault')
    problems.push(`${label}: pod seccompProfile is not RuntimeDefault`);
  // Service links would inject ORDER_SERVICE_PORT and its kin: this system's own port variables.
  if (pod.enableServiceLinks !== false) problems.push(`${label}: enableServiceLinks is not false`);
  if (pod.automountServiceAccountToken !== false) problems.push(`${label}: automountServiceAccountToken is not false`);
  const volumes = new Set([
    ...list(pod.volumes).map((v) => v.name),
    ...list(obj(resource.spec).volumeClaimTemplates).map((t) => obj(t.metadata).name),
  ]);
  for (const c of containersOf(resource)) {
    const where = `${label} container ${str(c.name)}`;
    const security = obj(c.securityContext);
    if (security.allowPrivilegeEscalation !== false) problems.push(`${where}: allowPrivilegeEscalation is not false`);
    if (security.readOnlyRootFilesystem !== true) problems.push(`${where}: readOnlyRootFilesystem is not true`);
    if (!(obj(security.capabilities).drop as unknown[] | undefined)?.includes('ALL'))
      problems.push(`${where}: capabilities do not drop ALL`);
    const resources = obj(c.resources);
    for (const kind of ['requests', 'limits']) {
      for (const what of ['cpu', 'memory']) {
        if (obj(resources[kind])[what] === undefined) problems.push(`${where}: no ${kind}.${what}`);
      }
    }
    for (const mount of list(c.volumeMounts)) {
      if (!volumes.has(mount.name)) problems.push(`${where}: mounts volume ${str(mount.name)}, which the pod does not have`);
    }
    for (const probe of ['livenessProbe', 'readinessProbe']) {
      if (!c[probe]) problems.push(`${where}: no ${probe}`);
    }
    for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
      const get = obj(obj(c[probe]).httpGet);
      if (c[probe] && resolvePort(get.port, [c]) === undefined) {
        problems.push(`${where}: ${probe} port ${str(get.port)} is not a container port`);
      }
    }
  }
  return problems;
}

/**
 * Checks a whole set of resources as it would be applied: each against its schema (unknown fields
 * included), and every reference between them (selectors, ports, ConfigMaps and Secrets, probes,
 * autoscaling targets), then each Shopflow service's environment against what its code reads, and
 * the NATS cluster's configuration.
 */
export function checkResources(manifests: Manifest[]): string[] {
  const problems: string[] = [];
  const objects = index(manifests);
  const seen = new Set<string>();
  for (const { resource, file } of manifests) {
    const key = `${str(resource.kind)}/${str(resource.metadata?.name)}`;
    if (seen.has(key)) problems.push(`${file}: ${key} is defined twice`);
    seen.add(key);
    problems.push(...validateResource(resource).map((p) => `${file}: ${p}`));
  }
  const resources = manifests.map((m) => m.resource);
  const workloads = resources.filter((r) => r.kind === 'Deployment' || r.kind === 'StatefulSet');
  const of = (kind: string) => resources.filter((r) => r.kind === kind);
  const selected = (selector: Record<string, string>) => workloads.filter((w) => selects(selector, podLabelsOf(w)));

  for (const w of workloads) {
    const label = nameOf(w);
    const matchLabels = labelsOf(obj(obj(w.spec).selector).matchLabels);
    if (!selects(matchLabels, podLabelsOf(w))) problems.push(`${label}: its selector does not match its own pod labels`);
    problems.push(...checkPodSecurity(w, label));
    for (const volume of list(podSpecOf(w)!.volumes)) {
      const configMap = obj(volume.configMap).name;
      if (configMap !== undefined && !objects.has(`ConfigMap/${str(configMap)}`)) {
        problems.push(`${label}: volume ${str(volume.name)} refers to ConfigMap ${str(configMap)}, which is not in the set`);
      }
    }
  }

  for (const service of of('Service')) {
    const label = nameOf(service);
    const spec = obj(service.spec);
    const targets = selected(labelsOf(spec.selector));
    if (targets.length !== 1) {
      problems.push(`${label}: its selector matches ${targets.length} workloads, not one`);
      continue;
    }
    for (const port of list(spec.ports)) {
      const target = port.targetPort ?? port.port;
      if (resolvePort(target, containersOf(targets[0]!)) === undefined) {
        problems.push(`${label}: targetPort ${str(target)} is not a port of ${nameOf(targets[0]!)}`);
      }
    }
  }

  for (const set of of('StatefulSet')) {
    const headless = objects.get(`Service/${str(obj(set.spec).serviceName)}`);
    if (!headless || obj(headless.spec).clusterIP !== 'None') {
      problems.push(`${nameOf(set)}: serviceName ${str(obj(set.spec).serviceName)} is not a headless Service in the set`);
    }
  }

  const hpaFor = new Map<string, Resource>();
  for (const hpa of of('HorizontalPodAutoscaler')) {
    const spec = obj(hpa.spec);
    const ref = obj(spec.scaleTargetRef);
    const target = objects.get(`${str(ref.kind)}/${str(ref.name)}`);
    if (!target || ref.apiVersion !== target.apiVersion) {
      problems.push(`${nameOf(hpa)}: scaleTargetRef ${str(ref.kind)} ${str(ref.name)} is not in the set`);
      continue;
    }
    hpaFor.set(nameOf(target), hpa);
    if (Number(spec.minReplicas ?? 1) > Number(spec.maxReplicas))
      problems.push(`${nameOf(hpa)}: minReplicas exceeds maxReplicas`);
    for (const metric of list(spec.metrics)) {
      const resourceName = obj(metric.resource).name;
      // Utilization is a share of the request: without one the autoscaler has nothing to divide by.
      for (const c of containersOf(target)) {
        if (resourceName && obj(obj(c.resources).requests)[str(resourceName)] === undefined) {
          problems.push(`${nameOf(hpa)}: scales on ${str(resourceName)}, but ${nameOf(target)} requests none`);
        }
      }
    }
  }

  for (const pdb of of('PodDisruptionBudget')) {
    const spec = obj(pdb.spec);
    const targets = selected(labelsOf(obj(spec.selector).matchLabels));
    if (targets.length !== 1) {
      problems.push(`${nameOf(pdb)}: its selector matches ${targets.length} workloads, not one`);
      continue;
    }
    const target = targets[0]!;
    const hpa = hpaFor.get(nameOf(target));
    const fewest = Number(hpa ? (obj(hpa.spec).minReplicas ?? 1) : (obj(target.spec).replicas ?? 1));
    // A budget that never allows an eviction blocks every node drain.
    if (typeof spec.minAvailable === 'number' && spec.minAvailable >= fewest) {
      problems.push(`${nameOf(pdb)}: minAvailable ${spec.minAvailable} with as few as ${fewest} replicas blocks every drain`);
    }
  }

  for (const policy of of('NetworkPolicy')) {
    const spec = obj(policy.spec);
    const targets = selected(labelsOf(obj(spec.podSelector).matchLabels));
    if (targets.length === 0) problems.push(`${nameOf(policy)}: its podSelector matches no workload`);
    for (const rule of list(spec.ingress)) {
      for (const port of list(rule.ports)) {
        if (targets.every((t) => resolvePort(port.port, containersOf(t)) === undefined)) {
          problems.push(`${nameOf(policy)}: port ${str(port.port)} is not a port of the pods it selects`);
        }
      }
    }
  }

  for (const secret of of('Secret')) {
    if (secret.data !== undefined) problems.push(`${nameOf(secret)}: base64 data; placeholders belong in stringData`);
    for (const [key, value] of Object.entries(obj(secret.stringData))) {
      if (!str(value).includes('CHANGE-ME'))
        problems.push(`${nameOf(secret)}: ${key} does not say CHANGE-ME: no real secret in the repository`);
    }
  }

  problems.push(...checkNats(workloads, objects));
  problems.push(...checkShopflowServices(workloads, objects, of('Service'), of('PodDisruptionBudget'), hpaFor));
  return problems;
}

/** The NATS StatefulSet: three replicas, JetStream, routes to every pod, the users' block, every variable the config uses. */
function checkNats(workloads: Resource[], objects: Map<string, Resource>): string[] {
  const problems: string[] = [];
  const sets = workloads.filter(
    (w) => w.kind === 'StatefulSet' && containersOf(w).some((c) => imageName(str(c.image)).endsWith('nats')),
  );
  if (sets.length !== 1) return [`expected one NATS StatefulSet, found ${sets.length}`];
  const set = sets[0]!;
  const label = nameOf(set);
  const spec = obj(set.spec);
  if (spec.replicas !== 3) problems.push(`${label}: replicas ${str(spec.replicas)}, not 3`);
  const container = containersOf(set)[0]!;
  if (!/^nats:2\.(1\d|[2-9]\d)/.test(str(container.image).split('/').pop()!)) {
    problems.push(`${label}: image ${str(container.image)} is not nats 2.10 or later (sync_interval)`);
  }
  const configVolume = list(podSpecOf(set)!.volumes).find((v) => obj(v.configMap).name !== undefined);
  const config = str(dataOf(objects.get(`ConfigMap/${str(obj(configVolume?.configMap).name)}`))['nats.conf'] ?? '');
  if (config === '') return [...problems, `${label}: no ConfigMap with a nats.conf is mounted`];
  problems.push(
    ...checkNatsConfig(
      config,
      label,
      [0, 1, 2].map((i) => `${str(obj(set.metadata).name)}-${i}.${str(spec.serviceName)}`),
    ),
  );
  const env = resolveEnv(container, objects, label, problems);
  for (const variable of configVariables(config)) {
    if (!env.has(variable)) problems.push(`${label}: nats.conf uses $${variable}, which the container's environment lacks`);
  }
  return problems;
}

/** The `$NAME` references of a nats.conf (outside quotes and comments): filled from the environment. */
export function configVariables(config: string): Set<string> {
  const names = new Set<string>();
  for (const line of config.split('\n')) {
    const code = line.replace(/"[^"]*"/g, '""').replace(/#.*$/, '');
    for (const m of code.matchAll(/\$([A-Z_][A-Z0-9_]*)/g)) names.add(m[1]!);
  }
  return names;
}

/** A nats.conf of the deployed cluster: JetStream with fsync, the cluster's routes to every node, exactly the users' block. */
export function checkNatsConfig(config: string, label: string, nodes: string[]): string[] {
  const problems: string[] = [];
  if (!/^jetstream\s*\{/m.test(config)) problems.push(`${label}: nats.conf does not enable JetStream`);
  if (!/^\s*sync_interval:\s*always\s*$/m.test(config))
    problems.push(`${label}: nats.conf does not fsync every write (sync_interval: always)`);
  if (!/^cluster\s*\{[^}]*\bname:\s*\S+/m.test(config)) problems.push(`${label}: nats.conf has no named cluster`);
  const routes = /routes:\s*\[([^\]]*)\]/.exec(config)?.[1];
  const hosts = (routes ?? '')
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((route) => new URL(route).host);
  const expected = nodes.map((node) => `${node}:6222`);
  if (hosts.sort().join(' ') !== expected.sort().join(' ')) {
    problems.push(`${label}: nats.conf routes ${hosts.join(' ')}, not every node: ${expected.join(' ')}`);
  }
  if (!config.includes(natsAuthorizationBlock())) {
    problems.push(
      `${label}: nats.conf's authorization block is not the one natsPermissions() gives; it should read:\n${natsAuthorizationBlock()}`,
    );
  }
  for (const user of ['order', 'payment', 'notification', 'saga', 'admin']) {
    if (!configVariables(config).has(natsPasswordVar(user)))
      problems.push(`${label}: nats.conf has no password variable for ${user}`);
  }
  return problems;
}

/** Every Shopflow service: one Deployment, its Service, budget and autoscaler, ports and probes that match what it serves, and its environment. */
function checkShopflowServices(
  workloads: Resource[],
  objects: Map<string, Resource>,
  services: Resource[],
  budgets: Resource[],
  hpaFor: Map<string, Resource>,
): string[] {
  const problems: string[] = [];
  const served = servedPaths();
  const deployments = new Map<ServiceName, Resource>();
  const images = new Set<string>();
  for (const w of workloads) {
    if (w.kind !== 'Deployment') continue;
    const container = containersOf(w)[0];
    const env = container ? resolveEnv(container, objects, nameOf(w), []) : new Map();
    const service = env.get('SERVICE') as ServiceName | undefined;
    if (service === undefined || !SERVICE_NAMES.includes(service)) {
      problems.push(`${nameOf(w)}: SERVICE is ${str(service)}, not a Shopflow service`);
      continue;
    }
    if (deployments.has(service)) problems.push(`${nameOf(w)}: a second Deployment runs ${service}`);
    deployments.set(service, w);
    images.add(str(container!.image));
  }
  // One image for every service: the service is chosen at run time.
  if (images.size > 1) problems.push(`the services run different images: ${[...images].join(', ')}`);

  // Where a service is reached from inside the cluster: the Service that selects it, on its main port.
  const serviceHost = (name: ServiceName): { host: string; port: number } => {
    const deployment = deployments.get(name);
    const port = Number(deployment && resolveEnv(containersOf(deployment)[0]!, objects, '', []).get(serviceEnv(name).portEnv));
    const front = deployment && services.find((s) => selects(labelsOf(obj(s.spec).selector), podLabelsOf(deployment)));
    return { host: str(front?.metadata?.name ?? `(no Service for ${name})`), port };
  };
  const natsSet = workloads.find((w) => w.kind === 'StatefulSet');
  const natsHosts = natsSet
    ? [0, 1, 2].map((i) => `${str(natsSet.metadata?.name)}-${i}.${str(obj(natsSet.spec).serviceName)}`)
    : [];

  for (const name of SERVICE_NAMES) {
    const deployment = deployments.get(name);
    if (!deployment) {
      problems.push(`no Deployment runs ${name}`);
      continue;
    }
    const label = nameOf(deployment);
    const container = containersOf(deployment)[0]!;
    const env = resolveEnv(container, objects, label, problems);
    problems.push(...checkServiceEnv(name, env, label, { serviceHost, natsHosts }));
    const wants = serviceEnv(name);
    const httpPort = Number(env.get(wants.httpPortEnv));
    const mainPort = Number(env.get(wants.portEnv));
    const ports = list(container.ports).map((p) => p.containerPort);
    for (const port of new Set([httpPort, mainPort])) {
      if (!ports.includes(port)) problems.push(`${label}: listens on ${port} (its environment), which is not a container port`);
    }
    const probes: [string, string][] = [
      ['livenessProbe', '/health'],
      ['readinessProbe', '/ready'],
      ['startupProbe', '/health'],
    ];
    for (const [probe, path] of probes) {
      const get = obj(obj(container[probe]).httpGet);
      if (!container[probe]) continue;
      if (get.path !== path) problems.push(`${label}: ${probe} asks ${str(get.path)}, not ${path}`);
      if (!served.has(str(get.path))) problems.push(`${label}: ${probe} asks ${str(get.path)}, which the services do not serve`);
      if (resolvePort(get.port, [container]) !== httpPort) {
        problems.push(`${label}: ${probe} goes to port ${str(get.port)}, not the HTTP port ${httpPort} (${wants.httpPortEnv})`);
      }
    }
    const annotations = labelsOf(obj(obj(obj(deployment.spec).template).metadata).annotations);
    if (annotations['prometheus.io/scrape'] !== 'true' || annotations['prometheus.io/path'] !== '/metrics') {
      problems.push(`${label}: no prometheus.io scrape annotations for /metrics`);
    }
    if (Number(annotations['prometheus.io/port']) !== httpPort) {
      problems.push(`${label}: prometheus.io/port ${annotations['prometheus.io/port']}, not the HTTP port ${httpPort}`);
    }
    if (serviceHost(name).host.startsWith('(')) problems.push(`${label}: no Service selects it`);
    else {
      const front = objects.get(`Service/${serviceHost(name).host}`)!;
      if (!list(obj(front.spec).ports).some((p) => p.port === mainPort)) {
        problems.push(`${nameOf(front)}: no port ${mainPort}, where the other services call ${name}`);
      }
    }
    if (!budgets.some((b) => selects(labelsOf(obj(obj(b.spec).selector).matchLabels), podLabelsOf(deployment)))) {
      problems.push(`${label}: no PodDisruptionBudget`);
    }
    if (!hpaFor.has(label)) problems.push(`${label}: no HorizontalPodAutoscaler`);
  }
  return problems;
}
