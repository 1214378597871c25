#!/usr/bin/env node
/* global URL */
// The image's entry point: runs the service named in SERVICE, so that one image serves all six.
// The same as `node services/<name>/dist/main.js`; an unknown or missing name stops here, naming
// the choices, rather than starting nothing.
import { SERVICE_NAMES } from '@shopflow/platform/config';

const service = process.env.SERVICE ?? '';
if (!SERVICE_NAMES.includes(service)) {
  console.error(`start: SERVICE=${service || '(unset)'} is not one of ${SERVICE_NAMES.join(', ')}`);
  process.exit(64);
}
await import(new URL(`../../services/${service}/dist/main.js`, import.meta.url).href);
