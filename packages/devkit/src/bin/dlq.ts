#!/usr/bin/env node
// `npm run dlq -- list [limit]` shows dead letters; `npm run dlq -- replay <seq>` publishes one again
// on its original subject and removes it from the DLQ stream; `npm run dlq -- replay --all
// [--subject S] [--consumer C] [--reason TEXT]` replays every one that matches. Credentials: NATS_CREDS or
// NATS_USER/NATS_PASSWORD, else the operator's that `npm start` left beside its NATS store.
import path from 'node:path';
import { loadNatsAuth } from '@shopflow/platform/config';
import { createLogger } from '@shopflow/platform/logger';
import { parseArgs } from 'node:util';
import { connectMessaging, listDeadLetters, replayDeadLetter, replayDeadLetters } from '@shopflow/platform/messaging';
import { readAdminCredentials } from '../nats-auth.js';
import { REPO_ROOT } from '../supervisor.js';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    all: { type: 'boolean', default: false },
    subject: { type: 'string' },
    consumer: { type: 'string' },
    reason: { type: 'string' },
  },
});
const [command, arg] = positionals;
const usage = 'usage: npm run dlq -- list [limit] | replay <seq> | replay --all [--subject S] [--consumer C] [--reason TEXT]';

async function main(): Promise<number> {
  if (command !== 'list' && command !== 'replay') {
    console.error(usage);
    return 2;
  }
  const dataDir = path.resolve(process.env.DATA_DIR ?? path.join(REPO_ROOT, '.data'));
  const messaging = await connectMessaging(
    process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
    'shopflow-dlq-cli',
    createLogger('dlq', 'warn'),
    loadNatsAuth() ?? readAdminCredentials(path.join(dataDir, 'nats')),
  );
  try {
    if (command === 'list') {
      const letters = await listDeadLetters(messaging.jsm, Number(arg ?? 100));
      if (letters.length === 0) console.log('no dead letters');
      for (const l of letters) {
        console.log(
          `#${l.seq}  ${l.at}  ${l.subject}  consumer=${l.consumer}  deliveries=${l.deliveries}\n    reason: ${l.reason}\n    payload: ${l.payload.slice(0, 300)}`,
        );
      }
      return 0;
    }
    if (values.all) {
      const replayed = await replayDeadLetters(messaging.js, messaging.jsm, {
        subject: values.subject,
        consumer: values.consumer,
        reasonContains: values.reason,
      });
      console.log(`replayed ${replayed.length} dead letter(s)`);
      return 0;
    }
    const seq = Number(arg);
    if (!Number.isInteger(seq) || seq <= 0) {
      console.error(usage);
      return 2;
    }
    const letter = await replayDeadLetter(messaging.js, messaging.jsm, seq);
    console.log(`replayed #${seq} on ${letter.subject}`);
    return 0;
  } finally {
    await messaging.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`dlq: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
