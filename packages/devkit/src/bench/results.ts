// Where a run's figures go: bench/results/<date>-<databases>.json, with the machine and the
// commit they were measured on, so that figures from different runs can be told apart.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../supervisor.js';
import type { BenchResult, Machine } from './report.js';

/** bench/results/ of the repository. */
export const RESULTS_DIR = path.join(REPO_ROOT, 'bench', 'results');

/** This machine, with `busyCoresBefore` measured by the caller. */
export function machine(busyCoresBefore: number): Machine {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    model: cpus[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    busyCoresBefore: Math.round(busyCoresBefore * 100) / 100,
  };
}

/** The commit checked out, and whether the tree had changes; undefined outside a git checkout. */
export function gitState(): BenchResult['git'] {
  const git = (...args: string[]) => spawnSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8' });
  const head = git('rev-parse', 'HEAD');
  if (head.status !== 0) return undefined;
  const status = git('status', '--porcelain', '--untracked-files=no');
  return { commit: head.stdout.trim(), dirty: status.stdout.trim().length > 0 };
}

/**
 * `<dir>/<YYYY-MM-DD>-<databases>.json` for a run started at `at`, with the time of day added
 * (and a counter after that) when a file of that name exists: a run never overwrites another.
 */
export function resultPath(dir: string, at: Date, databases: readonly string[]): string {
  const iso = at.toISOString();
  const base = `${iso.slice(0, 10)}-${databases.join('-')}`;
  const time = iso.slice(11, 19).replace(/:/g, '');
  for (let n = 0; ; n++) {
    const name = n === 0 ? base : n === 1 ? `${base}-${time}` : `${base}-${time}-${n}`;
    const file = path.join(dir, `${name}.json`);
    if (!fs.existsSync(file)) return file;
  }
}

/** Writes the result as indented JSON, making the directory if needed; returns the file. */
export function writeResult(dir: string, result: BenchResult, databases: readonly string[]): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = resultPath(dir, new Date(result.startedAt), databases);
  fs.writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  return file;
}
