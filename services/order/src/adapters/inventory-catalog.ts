import { AppError, ErrorCode } from '@shopflow/platform/errors';
import type { HttpClient } from '@shopflow/platform/http';
import type { ProductCatalog } from '../domain/ports.js';

/**
 * Asks the inventory service whether a product exists. Products are never deleted, so a "yes"
 * is remembered for the life of the process: the hot path of placing orders makes no call.
 */
export function createInventoryCatalog(inventory: HttpClient): ProductCatalog {
  const known = new Set<string>();
  return {
    async exists(productId) {
      if (known.has(productId)) return true;
      const res = await inventory.request({ method: 'GET', path: `/inventory/${encodeURIComponent(productId)}` });
      if (res.status === 200) {
        known.add(productId);
        return true;
      }
      if (res.status === 404) return false;
      throw new AppError(ErrorCode.Unavailable, `inventory answered ${res.status} looking up product ${productId}`);
    },
  };
}
