import { Type, type Static } from '@sinclair/typebox';
import { problemResponses } from './problem.js';
import type { Api, ApiRoute } from './route.js';
import { Limit } from './shared.js';

/** An event a consumer gave up on, parked in the DLQ stream with why. */
export const DeadLetterView = Type.Object(
  {
    seq: Type.Integer({ description: 'its sequence in the DLQ stream: replay it by this' }),
    subject: Type.String({ description: 'the subject it was published on' }),
    consumer: Type.String({ description: 'the durable consumer that gave up on it' }),
    reason: Type.String(),
    deliveries: Type.Integer(),
    at: Type.String({ description: 'when it was dead-lettered (RFC 3339)' }),
    payload: Type.String({ description: 'the event as it was published' }),
  },
  { $id: 'DeadLetter' },
);
export type DeadLetterView = Static<typeof DeadLetterView>;

const letter = Type.Ref(DeadLetterView);

/** The dead-letter queue, served by the saga orchestrator: `npm run dlq` over HTTP, for operators. */
export const DeadLettersApi = {
  schemas: [DeadLetterView],
  routes: {
    list: {
      method: 'GET',
      url: '/dlq',
      access: 'admin',
      schema: {
        summary: 'List dead letters, oldest first, with how many there are',
        querystring: Type.Object({ limit: Type.Optional(Limit) }, { additionalProperties: false }),
        response: {
          200: Type.Object({ dead_letters: Type.Array(letter), total: Type.Integer() }),
          ...problemResponses(400, 403, 503),
        },
      },
    },
    replay: {
      method: 'POST',
      url: '/dlq/:seq/replay',
      access: 'admin',
      schema: {
        summary: 'Publish a dead letter again on its subject and remove it from the DLQ',
        description: 'Consumers that applied the event already drop it again (their inbox); the one that gave up retries it.',
        params: Type.Object({ seq: Type.String({ pattern: '^[1-9][0-9]{0,15}$', description: 'the seq of the dead letter' }) }),
        response: { 200: letter, ...problemResponses(400, 403, 404, 503) },
      },
    },
  } satisfies Record<string, ApiRoute>,
} satisfies Api;
