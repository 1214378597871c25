import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '@shopflow/platform/db';
import { REPO_ROOT } from '@shopflow/devkit';

// A separate process commits rows as fast as it can and prints each id after its commit
// returned; it is killed with SIGKILL mid-stream. Every printed id must be in the file.
const writer = `
const { openDatabase } = await import(${JSON.stringify(pathToFileURL(path.join(REPO_ROOT, 'packages/platform/dist/db/index.js')).href)});
const db = await openDatabase(process.argv[1]);
await db.migrate([{ id: '1', sql: 'CREATE TABLE t (id INTEGER PRIMARY KEY, payload TEXT NOT NULL)' }]);
for (let i = 1; ; i++) {
  await db.transaction(async (tx) => {
    await tx.execute('INSERT INTO t (id, payload) VALUES ($1, $2)', [i, 'x'.repeat(200)]);
  });
  process.stdout.write(i + '\\n');
}
`;

describe('the embedded SQLite default', () => {
  it('keeps every committed transaction when its process is killed with SIGKILL', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-durable-'));
    const url = `sqlite:${path.join(dir, 'durable.db')}`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', writer, url], { stdio: ['ignore', 'pipe', 'inherit'] });
    let acknowledged = 0;
    let buffer = '';
    try {
      await new Promise<void>((resolve, reject) => {
        child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`writer exited ${code}`))));
        child.stdout.on('data', (chunk: Buffer) => {
          buffer += chunk.toString();
          const lines = buffer.split('\n');
          buffer = lines.pop()!;
          if (lines.length > 0) acknowledged = Number(lines.at(-1));
          if (acknowledged >= 3000) child.kill('SIGKILL');
        });
      });
    } finally {
      // Whatever happened above, the writer must not outlive the test.
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    expect(acknowledged).toBeGreaterThanOrEqual(3000);
    const db = await openDatabase(url);
    const [row] = await db.query<{ n: number; top: number }>('SELECT COUNT(*) AS n, MAX(id) AS top FROM t');
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
    // Rows 1..acknowledged were reported committed; a few more may have committed unreported.
    expect(Number(row!.top)).toBeGreaterThanOrEqual(acknowledged);
    expect(Number(row!.n)).toBe(Number(row!.top));
  });
});
