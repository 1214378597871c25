#!/usr/bin/env node
// Makes a fresh clone runnable before `npm start`, `npm test` and the CLI scripts: installs
// dependencies when node_modules is missing, then brings the TypeScript build up to date
// (incremental, so a built tree costs about a second). Uses nothing but Node itself.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function run(command, args) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`shopflow: \`${[command, ...args].join(' ')}\` failed`);
    process.exit(result.status ?? 1);
  }
}

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 18)) {
  console.error(`shopflow: Node.js >= 20.18 is required (this is ${process.version})`);
  process.exit(1);
}
if (!existsSync(path.join(root, 'node_modules', '.package-lock.json'))) {
  console.error('shopflow: installing dependencies (npm ci)…');
  run(npm, ['ci', '--no-audit', '--no-fund']);
}
run(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-b']);
