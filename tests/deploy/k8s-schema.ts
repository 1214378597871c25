import { ConfigMap, Namespace, Secret, Service } from 'kubernetes-models/v1';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';

/** A parsed Kubernetes object, as it stands in a manifest. */
export type Resource = Record<string, unknown> & { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown } };

// The kinds deploy/ may use, each with the model whose validate() runs the API's OpenAPI schema.
const MODELS: Record<string, { prototype: object }> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Namespace': Namespace,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
};

/** `Kind name` for messages. */
export function nameOf(resource: Resource): string {
  return `${String(resource.kind)} ${String(resource.metadata?.name)}`;
}

/**
 * Validates one object against the Kubernetes OpenAPI schema of its kind (kubernetes-models) and
 * reports every field the schema does not know, which the schema itself lets through. Returns
 * the problems, one line each; empty when the object is valid.
 */
export function validateResource(resource: Resource): string[] {
  const model = MODELS[`${String(resource.apiVersion)}/${String(resource.kind)}`];
  if (!model)
    return [
      `${nameOf(resource)}: apiVersion ${String(resource.apiVersion)} kind ${String(resource.kind)} is not one deploy/ uses`,
    ];
  const seen = new Seen();
  const problems: string[] = [];
  try {
    (model.prototype as { validate(this: unknown): void }).validate.call(seen.watch(resource, ''));
  } catch (error) {
    problems.push(`${nameOf(resource)}: ${error instanceof Error ? error.message : String(error)}`);
  }
  for (const path of seen.unknownFields(resource)) problems.push(`${nameOf(resource)}: unknown field ${path}`);
  return problems;
}

/**
 * What the compiled schema validator looked at. It reads every property its schema declares (to
 * check it or to find it absent) and enumerates the keys of free-form maps (labels, data,
 * resources), so a key of a plain object that it inspected but never read is a field the schema
 * does not have. Objects it never looked into (a field typed "any") are not judged.
 */
class Seen {
  private readonly read = new Map<string, Set<string>>();
  private readonly enumerated = new Set<string>();

  watch(value: unknown, path: string): unknown {
    if (value === null || typeof value !== 'object') return value;
    const note = (key: string | symbol) => {
      if (typeof key !== 'string') return;
      let keys = this.read.get(path);
      if (!keys) this.read.set(path, (keys = new Set()));
      keys.add(key);
    };
    return new Proxy(value, {
      get: (target, key, receiver) => {
        note(key);
        const inner: unknown = Reflect.get(target, key, receiver);
        return typeof key === 'string' && Object.hasOwn(target, key) ? this.watch(inner, `${path}/${key}`) : inner;
      },
      has: (target, key) => {
        note(key);
        return Reflect.has(target, key);
      },
      ownKeys: (target) => {
        this.enumerated.add(path);
        return Reflect.ownKeys(target);
      },
    });
  }

  /** The paths of keys in inspected objects that the validator never read; below an unknown key, nothing more. */
  unknownFields(value: unknown, path = ''): string[] {
    if (value === null || typeof value !== 'object') return [];
    if (Array.isArray(value)) return value.flatMap((item, i) => this.unknownFields(item, `${path}/${i}`));
    const read = this.read.get(path);
    const judged = read !== undefined && !this.enumerated.has(path);
    return Object.entries(value).flatMap(([key, inner]) =>
      judged && !read.has(key) ? [`${path}/${key}`] : this.unknownFields(inner, `${path}/${key}`),
    );
  }
}
