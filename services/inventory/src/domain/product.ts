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
