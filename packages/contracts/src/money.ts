/** Money crosses the wire as a decimal number (the seed's `amount: f64`) and is stored in integer minor units. */

/** Largest amount accepted, in major units; keeps minor units far inside Number.MAX_SAFE_INTEGER. */
export const MAX_AMOUNT = 10_000_000;

/** Converts a decimal amount with at most two fraction digits to minor units; returns undefined otherwise. */
export function toMinorUnits(amount: number): number | undefined {
  if (!Number.isFinite(amount) || amount < 0 || amount > MAX_AMOUNT) return undefined;
  const minor = Math.round(amount * 100);
  // 0.1 + 0.2 style noise is tolerated; a third fraction digit is not.
  if (Math.abs(minor - amount * 100) > 1e-6) return undefined;
  return minor;
}

/** Converts minor units back to the decimal amount the seed's API speaks. */
export function fromMinorUnits(minor: number): number {
  return minor / 100;
}
