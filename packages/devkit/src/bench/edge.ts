// The gateway beside nginx: the same wrk load on the public, anonymous GET /inventory/:id, once
// through the gateway (rate limiting on) and once through Debian's nginx in front of the same
// inventory service with a keep-alive upstream, in the same run.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, isListening, waitFor } from '../wait.js';

const NGINX = '/usr/sbin/nginx';

/** How wrk pushes each of the two edges. */
export interface EdgeLoad {
  duration: number;
  connections: number;
  threads: number;
}

/** What wrk saw on one edge. */
export interface EdgeRun {
  rps: number;
  /** Answers that were not 2xx or 3xx (a 429 would be one), plus socket errors. */
  failures: number;
  p99Ms: number;
}

export function nginxInstalled(): boolean {
  return fs.existsSync(NGINX) && !spawnSync(NGINX, ['-v']).error;
}

/** nginx with one worker (the gateway is one Node process) proxying /inventory/ to `inventoryUrl` over kept-alive connections. */
function nginxConfig(dir: string, port: number, inventoryUrl: string, connections: number): string {
  const upstream = new URL(inventoryUrl).host;
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${path.join(dir, t)};`);
  return `worker_processes 1;
pid ${path.join(dir, 'nginx.pid')};
error_log ${path.join(dir, 'error.log')} warn;
events { worker_connections ${Math.max(1024, connections * 4)}; }
http {
  access_log off;
${temp.join('\n')}
  upstream inventory { server ${upstream}; keepalive ${connections}; }
  server {
    listen 127.0.0.1:${port};
    location /inventory/ {
      proxy_pass http://inventory;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
}

async function startNginx(inventoryUrl: string, connections: number): Promise<{ url: string; stop(): Promise<void> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shopflow-nginx-'));
  const port = await freePort();
  const conf = path.join(dir, 'nginx.conf');
  fs.writeFileSync(conf, nginxConfig(dir, port, inventoryUrl, connections));
  const child: ChildProcess = spawn(NGINX, ['-p', dir, '-c', conf, '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGQUIT');
    await exited;
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      'nginx to listen',
      async () => {
        if (child.exitCode !== null) throw new Error(`nginx exited: ${stderr.trim()}`);
        return isListening(port);
      },
      { timeoutMs: 10_000, intervalMs: 50 },
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `http://127.0.0.1:${port}`, stop };
}

/** Runs plain wrk (GET) against `url` and reads its summary. */
async function wrkGet(url: string, o: EdgeLoad, headers: string[] = []): Promise<EdgeRun> {
  const args = ['-t', String(o.threads), '-c', String(o.connections), '-d', `${o.duration}s`, '--latency'];
  for (const h of headers) args.push('-H', h);
  const child = spawn('wrk', [...args, url], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`wrk exited with ${code}:\n${out}`);
  const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? 0);
  const p99 = /99%\s+([\d.]+)(us|ms|s)/.exec(out);
  const p99Ms = p99 ? Number(p99[1]) * { us: 0.001, ms: 1, s: 1000 }[p99[2] as 'us' | 'ms' | 's'] : NaN;
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = socketErrors ? socketErrors.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0;
  return { rps: num(/Requests\/sec:\s+([\d.]+)/), failures: num(/Non-2xx or 3xx responses: (\d+)/) + errors, p99Ms };
}

/**
 * Drives GET /inventory/:productId through the gateway, then through nginx in front of the same
 * inventory service, and reports both and their ratio. nginx is started and stopped here.
 */
export async function benchEdge(
  gatewayUrl: string,
  inventoryUrl: string,
  productId: string,
  o: EdgeLoad,
  say: (line: string) => void,
): Promise<{ gateway: EdgeRun; nginx: EdgeRun; ratio: number }> {
  const nginx = await startNginx(inventoryUrl, o.connections);
  try {
    const target = `/inventory/${productId}`;
    // A short warm-up of each, so neither pays for cold connection pools or JIT in its figure.
    const warm = { ...o, duration: 1 };
    await wrkGet(`${gatewayUrl}${target}`, warm);
    await wrkGet(`${nginx.url}${target}`, warm);
    const gateway = await wrkGet(`${gatewayUrl}${target}`, o);
    const proxied = await wrkGet(`${nginx.url}${target}`, o);
    const ratio = gateway.rps / proxied.rps;
    const line = (name: string, r: EdgeRun) =>
      say(`  ${name.padEnd(8)} ${r.rps.toFixed(0).padStart(7)} req/s  p99 ${r.p99Ms.toFixed(1)} ms  failures ${r.failures}`);
    say(`\nedge: GET ${target}, ${o.duration} s each, ${o.connections} connections (nginx: 1 worker, keep-alive upstream)`);
    line('gateway', gateway);
    line('nginx', proxied);
    say(`  gateway/nginx ${ratio.toFixed(2)}x`);
    return { gateway, nginx: proxied, ratio };
  } finally {
    await nginx.stop();
  }
}
