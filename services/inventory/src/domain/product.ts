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

/** The seed's JSON shape of a product's stock, plus what has been sold. */
export interface ProductView {
  product_id: string;
  product_name: string;
  available_quantity: number;
  reserved_quantity: number;
  sold_quantity: number;
}

/** A product as the HTTP API shows it. */
export function toProductView(p: Product): ProductView {
  return {
    product_id: p.productId,
    product_name: p.productName,
    available_quantity: p.available,
    reserved_quantity: p.reserved,
    sold_quantity: p.sold,
  };
}
