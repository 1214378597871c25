#!/usr/bin/env node
/* global fetch, AbortSignal */
// The image's HEALTHCHECK: GET /health (or the path given as the first argument, e.g. /ready) of
// the service this container runs, with node's own fetch, so the image needs no curl. The port is
// the one the service reads; the payment service answers HTTP on its side port, PAYMENT_HTTP_PORT.
// Exit 0 when it answers 2xx within the deadline, 1 otherwise.
import { SERVICE_NAMES, envInt, portOf } from '@shopflow/platform/config';

const service = process.env.SERVICE ?? '';
const path = process.argv[2] ?? '/health';
if (!SERVICE_NAMES.includes(service) || !path.startsWith('/')) {
  console.error(`healthcheck: SERVICE=${service || '(unset)'} (one of ${SERVICE_NAMES.join(', ')}), path ${path}`);
  process.exit(1);
}
const port = service === 'payment' ? envInt('PAYMENT_HTTP_PORT', 8086, { min: 1, max: 65535 }) : portOf(service);
// A service bound to every interface answers on loopback; one bound to a single address, only there.
const bound = process.env.HOST ?? '127.0.0.1';
const host = bound === '0.0.0.0' || bound === '::' || bound === '' ? '127.0.0.1' : bound;
const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}${path}`;
try {
  const response = await fetch(url, { signal: AbortSignal.timeout(2500) });
  if (!response.ok) {
    console.error(`healthcheck: ${url} answered ${response.status}`);
    process.exit(1);
  }
} catch (error) {
  console.error(`healthcheck: ${url}: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
