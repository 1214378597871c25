// The bench's side of `--profile`: preload profiler.ts into every service, toggle it around the
// load, and boil each service's profile down to where its CPU went.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from '../supervisor.js';

// The built profiler, as services run their dist/ (tests too, which load this file from src/).
const PROFILER = path.join(REPO_ROOT, 'packages', 'devkit', 'dist', 'bench', 'profiler.js');

/**
 * Environment that preloads the profiler into a Node process and has it write its profiles to `dir`;
 * `nodeOptions` is the NODE_OPTIONS the process would get otherwise.
 */
export function profilerEnv(dir: string, nodeOptions = ''): Record<string, string> {
  if (!fs.existsSync(PROFILER)) throw new Error(`${PROFILER} is missing: build with npx tsc -b`);
  return {
    BENCH_PROFILE_DIR: dir,
    // A file URL, since --import takes a module specifier (and a URL has no spaces to split NODE_OPTIONS on).
    NODE_OPTIONS: `${nodeOptions} --import ${pathToFileURL(PROFILER).href}`.trim(),
  };
}

/** Starts, or stops and writes, the profile of every preloaded process among `pids`. */
export function toggleProfilers(pids: readonly (number | undefined)[]): void {
  for (const pid of pids) if (pid) process.kill(pid, 'SIGUSR2');
}

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
}

/** A service's profile boiled down: shares are percentages of its busy samples, largest first. */
export interface ProfileSummary {
  /** Percentage of all samples that were not idle. */
  busyShare: number;
  origins: [string, number][];
  functions: [string, number][];
}

/** Where a function lives: a package, a workspace folder, Node itself, or V8's own buckets. */
function origin(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native)';
  if (url.startsWith('node:')) return 'node core';
  const pkg = /.*\/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  const own = /\/(services|packages)\/([^/]+)\//.exec(url);
  return own ? `${own[1]}/${own[2]}` : url;
}

/**
 * The busiest origins and functions of a .cpuprofile by self samples (idle excluded). Samples, not
 * time deltas: a thread that waited for a CPU would otherwise charge the wait to whatever ran next.
 */
export function summariseProfile(file: string, { origins = 8, functions = 14 } = {}): ProfileSummary {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const fns = new Map<string, number>();
  const places = new Map<string, number>();
  const add = (m: Map<string, number>, key: string) => m.set(key, (m.get(key) ?? 0) + 1);
  let busy = 0;
  for (const id of profile.samples) {
    const f = byId.get(id)!;
    // (idle) is the event loop waiting; a native `dispatch` is the inspector starting and stopping this profile.
    if (f.functionName === '(idle)' || (f.functionName === 'dispatch' && !f.url)) continue;
    busy++;
    const where = f.url ? `${f.url.replace(/^file:\/\/.*\/(node_modules|services|packages)\//, '$1/')}:${f.lineNumber + 1}` : '';
    add(fns, `${f.functionName || '(anonymous)'} ${where}`.trim());
    add(places, origin(f.url, f.functionName));
  }
  const top = (m: Map<string, number>, n: number): [string, number][] =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, count]) => [k, (count / busy) * 100]);
  return { busyShare: (busy / profile.samples.length) * 100, origins: top(places, origins), functions: top(fns, functions) };
}
