/** Small statistics helpers: the bench reports medians of repeated rounds, never a single sample. */

export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/** Nearest-rank quantile (q in 0..1) of unsorted values; NaN when empty. */
export function quantile(values: readonly number[] | Float64Array, q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

export function minMax(values: readonly number[]): { min: number; max: number } {
  return { min: Math.min(...values), max: Math.max(...values) };
}

/** Spread of repeated rounds as (max - min) / median, a rough noise indicator. */
export function spread(values: readonly number[]): number {
  if (values.length < 2) return 0;
  const { min, max } = minMax(values);
  const m = median(values);
  return m === 0 ? 0 : (max - min) / m;
}

export function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Repeated rounds of one figure: their median and range (NaN-free; n counts the finite values). */
export type Summary = { median: number; min: number; max: number; spread: number; n: number };
export function summary(all: number[]): Summary {
  const values = all.filter((v) => Number.isFinite(v));
  if (values.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN, spread: 0, n: 0 };
  return { median: round(median(values), 3), min: round(Math.min(...values), 3), max: round(Math.max(...values), 3), spread: round(spread(values), 3), n: values.length };
}

/** A positive number from the environment (a bench knob), or the fallback when unset or not a positive number. */
export function envNumber(name: string, fallback: number): number {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : fallback;
}
