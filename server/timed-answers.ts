import { LRUCache } from 'lru-cache';

/**
 * Answers kept briefly, for questions that are costly to ask again (Pipedrive's word on who may see a deal, whether
 * a user is still an admin, a company's webhook credentials). Shared by the places that need it so each gets the same
 * three guarantees: an answer's age is judged by the context clock (tests move it) from the moment it was asked, so a
 * change at the source is seen within `ttlMs`; callers asking the same question together share one question; and a
 * failure to ask is never remembered. Bounded, least recently used first, so no caller can grow it without end.
 */
export type TimedAnswers<V> = {
  /** The kept answer when fresh, else asks (joining a question already under way unless `fresh` is set). */
  get(key: string, ask: () => Promise<V>, options?: { fresh?: boolean }): Promise<V>;
  forget(key: string): void;
  /** Forgets every answer whose key starts with `prefix` (a company's, say). */
  forgetPrefix(prefix: string): void;
};

export function createTimedAnswers<V>(deps: {
  now: () => number;
  ttlMs: number;
  max: number;
  /** Which answers are kept; the others are returned to the callers of the question only (a deal not found, say). */
  keep?: (answer: V) => boolean;
}): TimedAnswers<V> {
  const answers = new LRUCache<string, { askedAt: number; answer: V }>({ max: deps.max });
  const asking = new Map<string, Promise<V>>();

  return {
    get(key, ask, options = {}) {
      const known = answers.get(key);
      if (!options.fresh && known && deps.now() - known.askedAt < deps.ttlMs) return Promise.resolve(known.answer);
      const pending = asking.get(key);
      if (pending && !options.fresh) return pending;
      const question = (async () => {
        const askedAt = deps.now();
        const answer = await ask();
        if (deps.keep && !deps.keep(answer)) answers.delete(key);
        else answers.set(key, { askedAt, answer });
        return answer;
      })().finally(() => {
        if (asking.get(key) === question) asking.delete(key);
      });
      asking.set(key, question);
      return question;
    },
    forget(key) {
      answers.delete(key);
    },
    forgetPrefix(prefix) {
      for (const key of [...answers.keys()]) if (key.startsWith(prefix)) answers.delete(key);
    },
  };
}
