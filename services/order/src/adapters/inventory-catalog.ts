import { toMinorUnits } from '@shopflow/contracts';
import type { ProductView } from '@shopflow/contracts/api';
import { AppError, ErrorCode } from '@shopflow/platform/errors';
import type { HttpClient } from '@shopflow/platform/http';
import type { CatalogProduct, ProductCatalog } from '../domain/ports.js';

export interface InventoryCatalogOptions {
  /** How long a product's price is trusted before it is asked again; a price change is seen within this. */
  ttlMs?: number;
}

/**
 * Asks the inventory service about a product. Answers are kept for `ttlMs` (1 s by default), so
 * the hot path of placing orders makes about one call a second per product, and concurrent
 * look-ups of one product share a call. Products are never deleted; only their price changes.
 */
export function createInventoryCatalog(inventory: HttpClient, { ttlMs = 1000 }: InventoryCatalogOptions = {}): ProductCatalog {
  const known = new Map<string, { product: Promise<CatalogProduct | undefined>; until: number }>();

  async function fetchProduct(productId: string): Promise<CatalogProduct | undefined> {
    const res = await inventory.request<Pick<ProductView, 'price'>>({
      method: 'GET',
      path: `/inventory/${encodeURIComponent(productId)}`,
    });
    if (res.status === 404) return undefined;
    if (res.status !== 200) {
      throw new AppError(ErrorCode.Unavailable, `inventory answered ${res.status} looking up product ${productId}`);
    }
    const { price } = res.body;
    return { priceMinor: price === undefined ? null : (toMinorUnits(price) ?? null) };
  }

  return {
    lookup(productId) {
      const now = Date.now();
      const cached = known.get(productId);
      if (cached && cached.until > now) return cached.product;
      const product = fetchProduct(productId);
      known.set(productId, { product, until: now + ttlMs });
      // A failed or negative look-up is not kept: the product may appear, or inventory come back.
      const forget = () => {
        if (known.get(productId)?.product === product) known.delete(productId);
      };
      product.then((found) => found === undefined && forget(), forget);
      return product;
    },
  };
}
