/** Which products exist: the inventory service owns the catalogue. */
export interface ProductCatalog {
  /** True when the product exists; throws an Unavailable AppError when nobody can tell. */
  exists(productId: string): Promise<boolean>;
}
