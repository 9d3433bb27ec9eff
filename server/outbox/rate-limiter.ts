/**
 * Paces sends per sender (a US long code takes 1 message a second). In-process: with several app instances each
 * paces its own share, and Twilio's own queue absorbs the rest.
 */
export function createRateLimiter(now: () => number) {
  const nextFree = new Map<string, number>();
  return {
    /** Milliseconds until the sender may send again (0 when it may now). */
    wait(key: string, perSecond: number): number {
      void perSecond;
      return Math.max(0, (nextFree.get(key) ?? 0) - now());
    },
    /** Takes the next slot of this sender. */
    reserve(key: string, perSecond: number): void {
      const start = Math.max(now(), nextFree.get(key) ?? 0);
      nextFree.set(key, start + 1000 / perSecond);
    },
  };
}
