/** What the order service needs to know about a product. */
export interface CatalogProduct {
  /** The unit price in minor units, or null when the product has none (the client's amount stands). */
  priceMinor: number | null;
}

/** Which products exist and what they cost: the inventory service owns the catalogue. */
export interface ProductCatalog {
  /** The product, or undefined when there is no such product; throws an Unavailable AppError when nobody can tell. */
  lookup(productId: string): Promise<CatalogProduct | undefined>;
}
