import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { gitState, resultPath } from './results.js';

describe('resultPath', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  it('names a file by date and databases, and never one that exists', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shopflow-results-test-'));
    dirs.push(dir);
    const at = new Date('2025-03-04T05:06:07.890Z');
    const names: string[] = [];
    for (let i = 0; i < 4; i++) {
      const file = resultPath(dir, at, ['sqlite', 'postgres']);
      names.push(path.basename(file));
      fs.writeFileSync(file, '{}');
    }
    expect(names).toEqual([
      '2025-03-04-sqlite-postgres.json',
      '2025-03-04-sqlite-postgres-050607.json',
      '2025-03-04-sqlite-postgres-050607-2.json',
      '2025-03-04-sqlite-postgres-050607-3.json',
    ]);
  });
});

describe('gitState', () => {
  it('reads the commit of this checkout', () => {
    expect(gitState()?.commit).toMatch(/^[0-9a-f]{40}$/);
  });
});
