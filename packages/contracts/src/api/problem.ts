import { Type, type Static } from '@sinclair/typebox';

/** RFC 9457 problem details, as every 4xx and 5xx body is shaped. */
export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.Optional(Type.String()),
    instance: Type.Optional(Type.String()),
    errors: Type.Optional(Type.Array(Type.Object({ field: Type.String(), reason: Type.String() }))),
  },
  { $id: 'Problem', description: 'RFC 9457 problem details' },
);
export type Problem = Static<typeof Problem>;

/** Response schemas for the 4xx/5xx codes a route may answer with. */
export function problemResponses(...codes: number[]): Record<number, typeof Problem> {
  return Object.fromEntries(codes.map((c) => [c, Problem]));
}
