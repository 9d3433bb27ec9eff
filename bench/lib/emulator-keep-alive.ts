import http from 'node:http';

/**
 * The emulators' servers announce `Keep-Alive: timeout=1`, and Node's HTTP agent will not reuse a socket the server
 * may close within its one-second safety margin, so against them every SDK call opens a new TCP connection. Real
 * Twilio and Pipedrive keep connections open far longer, and the SDKs' agents keep them alive, so the drain would
 * otherwise be measured with a connection setup per API call that production does not pay.
 *
 * This raises the keep-alive timeout of every HTTP server created in this process (the orchestrator, which hosts
 * only the emulators) to at least `minMs`. The app and the load generator run in other processes and are untouched.
 */
export function keepEmulatorConnectionsAlive(minMs = 65_000): void {
  const store = new WeakMap<object, number>();
  Object.defineProperty(http.Server.prototype, 'keepAliveTimeout', {
    configurable: true,
    get(this: object) {
      return store.get(this) ?? minMs;
    },
    set(this: object, value: number) {
      store.set(this, Math.max(Number(value) || 0, minMs));
    },
  });
}
