/** A line of an order: what it costs, charged on its own once the order is approved. */
export interface Line {
  id: string;
  cents: number;
}

/** What the payment gateway hands back for a charge. */
export interface Receipt {
  id: string;
  orderId: string;
  cents: number;
}
