// A figure, or why there is none. A benchmark that cannot take one measurement (a peer missing,
// a result that fails its sanity check) still reports every other figure and says why this one
// is absent, instead of crashing the whole scenario.
import type { TargetResult } from '../scenario.js';
import { verdict } from '../scenario.js';

export type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

export function succeeded<T>(value: T): Outcome<T> {
  return { ok: true, value };
}

export function failed<T>(reason: string): Outcome<T> {
  return { ok: false, reason };
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Runs a measurement, turning a thrown error into a failed outcome. */
export async function attempt<T>(measure: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return succeeded(await measure());
  } catch (error) {
    return failed(errorText(error));
  }
}

/** A table cell: the figure, or "not measured: why". */
export function cell<T>(outcome: Outcome<T>, describe: (value: T) => string): string {
  return outcome.ok ? describe(outcome.value) : `not measured: ${outcome.reason}`;
}

/** A target row: PASS/FAIL from the figure, or NOT MEASURED with the reason. */
export function targetRow<T>(target: string, outcome: Outcome<T>, judge: (value: T) => { measured: string; pass: boolean }): TargetResult {
  if (!outcome.ok) return { target, measured: outcome.reason, verdict: 'NOT MEASURED' };
  const { measured, pass } = judge(outcome.value);
  return { target, measured, verdict: verdict(pass) };
}

/** Both figures, or the first reason one is missing (prefixed with whose it is). */
export function both<A, B>(a: Outcome<A>, b: Outcome<B>, bName: string): Outcome<readonly [A, B]> {
  if (!a.ok) return a;
  if (!b.ok) return failed(`${bName}: ${b.reason}`);
  return succeeded([a.value, b.value] as const);
}
