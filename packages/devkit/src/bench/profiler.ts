// Preloaded into every service with `--import` when `npm run bench -- --profile` runs (see
// cpu-profiles.ts; NODE_OPTIONS cannot carry --cpu-prof). SIGUSR2 starts the V8 profiler, the next
// SIGUSR2 writes <BENCH_PROFILE_DIR>/<pid>.cpuprofile, so the profile covers the load window only,
// not start-up or shutdown. Importing this module is all it takes: it exports nothing.
import fs from 'node:fs';
import { Session } from 'node:inspector';
import os from 'node:os';
import path from 'node:path';

const session = new Session();
let running = false;

process.on('SIGUSR2', () => {
  if (!running) {
    session.connect();
    session.post('Profiler.enable');
    session.post('Profiler.start');
    running = true;
    return;
  }
  session.post('Profiler.stop', (error, result) => {
    if (error) return;
    // Without a directory (started by hand), the profile still lands somewhere rather than crash the service.
    const dir = process.env.BENCH_PROFILE_DIR ?? os.tmpdir();
    fs.writeFileSync(path.join(dir, `${process.pid}.cpuprofile`), JSON.stringify(result.profile));
  });
  session.disconnect();
  running = false;
});
