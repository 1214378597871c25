import { Type } from '@sinclair/typebox';

/** Product and order ids that the inventory takes: what fits in a URL path segment unescaped. */
export const Id = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:-]+$' });

/** The id in a lookup path such as `/orders/:order_id`; an unknown one is a 404, so any text is accepted. */
export const PathId = Type.String({ minLength: 1, maxLength: 64 });

/** A quantity one call may reserve. */
export const Quantity = Type.Integer({ minimum: 1, maximum: 1_000_000 });

/** How many items a list answers with when `limit` is absent, and at most. */
export const LIST_LIMIT = { default: 100, max: 1000 } as const;

/** `?limit=`: query strings are not coerced, so the number arrives as digits; larger values are capped. */
export const Limit = Type.String({
  pattern: '^[0-9]{1,4}$',
  description: `default ${LIST_LIMIT.default}, at most ${LIST_LIMIT.max}`,
});

/** `?cursor=`: the `next_cursor` of the page before, passed back as it came. */
export const Cursor = Type.String({
  minLength: 1,
  maxLength: 512,
  pattern: '^[A-Za-z0-9_-]+$',
  description: "the previous page's next_cursor",
});

/** Where the next page starts (pass it as `?cursor=`); null on the last page. */
export const NextCursor = Type.Union([Type.String(), Type.Null()], {
  description: 'pass as ?cursor= for the next page; null on the last page',
});
