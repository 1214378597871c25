import type { FastifyRequest } from 'fastify';
import { DeadLettersApi, Role } from '@shopflow/contracts/api';
import { AppError, ErrorCode } from '@shopflow/platform/errors';
import { listLimit, notFound, requestPrincipal, type HttpServer } from '@shopflow/platform/http';
import type { DeadLetters } from '../adapters/dead-letters.js';

/** The DLQ for operators (routes declared in contracts): list the dead letters, replay one. */
export function deadLetterRoutes(app: HttpServer, deadLetters: DeadLetters): void {
  for (const schema of DeadLettersApi.schemas) app.addSchema(schema);
  const { list, replay } = DeadLettersApi.routes;

  app.route({
    ...list,
    async handler(request) {
      operatorsOnly(request);
      const { letters, total } = await deadLetters.list(listLimit(request.query.limit));
      return { dead_letters: letters, total };
    },
  });

  app.route({
    ...replay,
    async handler(request) {
      operatorsOnly(request);
      const letter = await deadLetters.replay(Number(request.params.seq));
      return letter ?? notFound('dead letter', request.params.seq);
    },
  });
}

/** The gateway lets only admins through; a customer's principal that got here anyway is refused (defence in depth). */
function operatorsOnly(request: FastifyRequest): void {
  if (requestPrincipal(request)?.role === Role.Customer) {
    throw new AppError(ErrorCode.Forbidden, 'the dead-letter queue is for operators');
  }
}
