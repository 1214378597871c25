import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../wait.js';
import { profilerEnv, summariseProfile, toggleProfilers } from './cpu-profiles.js';

// After the preload's SIGUSR2 handler (registered first, so it runs first), this one keeps the
// process busy for 50 ms and says so: the profile started by that signal then has samples.
const SCRIPT = `process.on('SIGUSR2', () => {
  const end = Date.now() + 50;
  while (Date.now() < end) Math.sqrt(Math.random());
  console.log('busy');
});
setInterval(() => {}, 1000);
console.log('up');`;

function said(child: ChildProcessWithoutNullStreams, word: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      if (!out.split('\n').includes(word)) return;
      child.stdout.off('data', onData);
      resolve();
    };
    child.stdout.on('data', onData);
    child.once('exit', (code) => reject(new Error(`exited with ${code} before saying ${word}`)));
  });
}

// Runs the built profiler (dist/bench/profiler.js), as the services do: build first.
describe('the --profile preload', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  it('starts profiling on SIGUSR2 and writes <dir>/<pid>.cpuprofile on the next one', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shopflow-profiler-test-'));
    dirs.push(dir);
    const child = spawn(process.execPath, ['-e', SCRIPT], { env: { ...process.env, ...profilerEnv(dir) } });
    try {
      await said(child, 'up');
      const file = path.join(dir, `${child.pid}.cpuprofile`);
      toggleProfilers([child.pid]);
      await said(child, 'busy');
      expect(fs.existsSync(file)).toBe(false);
      toggleProfilers([child.pid]);
      await said(child, 'busy');
      expect(child.exitCode).toBeNull();
      await waitFor('the profile', () => fs.existsSync(file) && fs.statSync(file).size > 0, { timeoutMs: 10_000 });
      const summary = summariseProfile(file);
      expect(summary.busyShare).toBeGreaterThan(0);
      expect(summary.functions.length).toBeGreaterThan(0);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
