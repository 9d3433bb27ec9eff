import { randomUUID } from 'node:crypto';
import pg from 'pg';

/**
 * Wakes the outbox workers of the other instances when this one queues work. Each instance's own worker is woken in
 * its process; with several instances on one PostgreSQL database, an idle instance would otherwise find new work only
 * at its next poll. PostgreSQL's LISTEN/NOTIFY carries the wake: every instance listens on one dedicated connection,
 * and `notify` sends one NOTIFY (several calls while one is under way make a single further one). A notification is
 * delivered after the sender's commit, and the one an instance sends itself is ignored. A lost connection is made
 * again (a wake is given then, in case one was missed); meanwhile the poll still finds the work.
 */
export type WakeChannel = {
  /** Starts listening; `onWake` runs for every notification of another instance. */
  listen(onWake: () => void): Promise<void>;
  /** Tells the other instances there is work. Never throws and never waits: a wake is an optimisation. */
  notify(): void;
  close(): Promise<void>;
};

const CHANNEL = 'sms_outbox_wake';
const RECONNECT_MS = [1_000, 2_000, 5_000, 10_000, 30_000];

export type WakeChannelDeps = {
  url: string;
  /** Sends one statement on the app's pool (the NOTIFY). */
  send(statement: string, params: unknown[]): Promise<unknown>;
  warn(message: string, error: unknown): void;
};

export function createWakeChannel(deps: WakeChannelDeps): WakeChannel {
  const self = randomUUID();
  let client: pg.Client | null = null;
  let closed = false;
  let attempt = 0;
  let retryTimer: NodeJS.Timeout | null = null;
  let sending = false;
  let again = false;

  async function connect(onWake: () => void): Promise<void> {
    const c = new pg.Client({ connectionString: deps.url });
    c.on('notification', (n) => {
      if (n.channel === CHANNEL && n.payload !== self) onWake();
    });
    c.on('error', (error) => lost(c, onWake, error));
    c.on('end', () => lost(c, onWake, new Error('connection ended')));
    await c.connect();
    await c.query(`LISTEN ${CHANNEL}`);
    if (closed) {
      await c.end().catch(() => {});
      return;
    }
    client = c;
    attempt = 0;
  }

  function lost(c: pg.Client, onWake: () => void, error: unknown): void {
    if (client !== c || closed) return;
    client = null;
    deps.warn('the outbox wake channel lost its PostgreSQL connection; reconnecting (new work is still found by polling)', error);
    void c.end().catch(() => {});
    retry(onWake);
  }

  function retry(onWake: () => void): void {
    if (closed || retryTimer) return;
    const delay = RECONNECT_MS[Math.min(attempt++, RECONNECT_MS.length - 1)]!;
    retryTimer = setTimeout(() => {
      retryTimer = null;
      connect(onWake).then(
        // Anything queued while no one listened is picked up now.
        () => onWake(),
        (error: unknown) => {
          deps.warn('the outbox wake channel could not reconnect; trying again', error);
          retry(onWake);
        },
      );
    }, delay);
    retryTimer.unref();
  }

  async function send(): Promise<void> {
    sending = true;
    try {
      do {
        again = false;
        await deps.send('SELECT pg_notify($1, $2)', [CHANNEL, self]);
      } while (again && !closed);
    } catch (error) {
      deps.warn('could not wake the other instances (they find the work at their next poll)', error);
    } finally {
      sending = false;
    }
  }

  return {
    async listen(onWake) {
      closed = false;
      try {
        await connect(onWake);
      } catch (error) {
        deps.warn('the outbox wake channel could not connect; retrying (new work is still found by polling)', error);
        retry(onWake);
      }
    },
    notify() {
      if (closed) return;
      if (sending) {
        again = true;
        return;
      }
      void send();
    },
    async close() {
      closed = true;
      if (retryTimer) clearTimeout(retryTimer);
      retryTimer = null;
      const c = client;
      client = null;
      await c?.end().catch(() => {});
    },
  };
}
