/** A product and its stock as the inventory service stores it. Products are never deleted. */
export interface Product {
  productId: string;
  productName: string;
  /** Free to reserve. */
  available: number;
  /** Held for orders that have not settled yet. */
  reserved: number;
  /** Taken by committed orders. */
  sold: number;
  /** Unit price in minor units; null when the product has none (then the order's client sets the amount). */
  priceMinor: number | null;
  /** Grows with every change of the product or its stock: the ETag a conditional restock compares. */
  version: number;
  createdAt: string;
  updatedAt: string;
}

/**
 * A change of a product's stock columns. Every move the reservation rules make keeps
 * available + reserved + sold constant; only a restock changes the total.
 */
export interface StockMove {
  available: number;
  reserved: number;
  sold: number;
}

/** What a restock's `If-Match` asks for: any existing version (`*`), or one of those listed. */
export type VersionCondition = { any: true } | { any: false; versions: number[] };

/**
 * Reads an `If-Match` header of strong ETags such as `"7"` (or `*`). Weak or foreign tags can
 * never match a strong comparison, so they are dropped; an empty list then matches nothing.
 */
export function parseIfMatch(header: string | undefined): VersionCondition | undefined {
  if (header === undefined) return undefined;
  if (header.trim() === '*') return { any: true };
  const versions = header
    .split(',')
    .map((tag) => /^"(\d{1,15})"$/.exec(tag.trim())?.[1])
    .filter((v): v is string => v !== undefined)
    .map(Number);
  return { any: false, versions };
}

/** The ETag of a product version. */
export function etagOf(product: Pick<Product, 'version'>): string {
  return `"${product.version}"`;
}
