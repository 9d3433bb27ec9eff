import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The app's Prometheus metrics, behind a narrow interface so the rest of the code never imports prom-client. One
 * registry per context (no global default registry): two test rigs in one process count apart.
 *
 * Every label takes its value from a short fixed list (or, for Twilio's error code, a five-digit number): never a
 * company id, a phone number, a message text or anything else a caller chooses. That keeps the number of series
 * bounded, and keeps personal data out of the monitoring system.
 */

export type WebhookKind = 'pipedrive' | 'twilio_status' | 'twilio_inbound';
export type WebhookResult = 'accepted' | 'duplicate' | 'ignored' | 'unauthorized' | 'bad_request' | 'rate_limited' | 'error';
/** What became of a send to Twilio: accepted, refused for good, the recipient unsubscribed (21610), Twilio's 429
 * (sent again later), or an answer that leaves it unknown (a 5xx, a dropped connection: looked up at Twilio). */
export type SendResult = 'sent' | 'refused' | 'unsubscribed' | 'rate_limited' | 'unknown';
export type Vendor = 'pipedrive' | 'twilio';
export type RetryOutcome = 'retry' | 'gave_up';

/** Counts of the rows waiting in each queue, by state: read at scrape time. */
export type QueueDepth = () => Promise<Array<{ queue: 'messages' | 'jobs'; state: string; count: number }>>;

export type Metrics = {
  webhookReceived(kind: WebhookKind, result: WebhookResult): void;
  /** `errorCode`: Twilio's numeric error code, or null. */
  sendFinished(result: SendResult, errorCode: number | string | null): void;
  /** From the worker taking the message up to Twilio's answer to the create call. */
  observeSendLatency(seconds: number): void;
  /** From the message's row being written (the deal event, the panel's send) to Twilio accepting it. */
  observeEndToEndLatency(seconds: number): void;
  /** One HTTP call to a vendor; `operation` is a fixed name from the adapter's code, `status` the HTTP status (0: none). */
  vendorCall(vendor: Vendor, operation: string, status: number, seconds: number): void;
  messageRetry(outcome: RetryOutcome): void;
  jobRetry(kind: string, outcome: RetryOutcome): void;
  /** Reads the queue depth when scraped (once per context: the last one given wins). */
  setQueueDepth(read: QueueDepth): void;
  contentType: string;
  scrape(): Promise<string>;
};

const OUTCOMES: Record<string, string> = { '2': 'ok', '4': 'client_error', '5': 'server_error' };

/** A vendor call's outcome as a label: one of five words. */
function callOutcome(status: number): string {
  if (status === 429) return 'rate_limited';
  if (status === 0) return 'network_error';
  return OUTCOMES[String(status)[0]!] ?? 'other';
}

/** Twilio's error codes are five-digit numbers; anything else is not used as a label. */
function errorCodeLabel(code: number | string | null): string {
  if (code === null) return 'none';
  const text = String(code);
  return /^\d{5}$/.test(text) ? text : 'other';
}

/** A name from the code (an operation, a job kind): letters, digits, dots, slashes and underscores only, kept short. */
function nameLabel(name: string): string {
  return /^[\w./ -]{1,40}$/.test(name) ? name : 'other';
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  const registers = [registry];
  // Process metrics, event-loop lag among them (nodejs_eventloop_lag_seconds and its p50/p90/p99).
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });

  const counter = <L extends string>(name: string, help: string, labelNames: L[]) => new Counter<L>({ name, help, labelNames, registers });
  const histogram = <L extends string>(name: string, help: string, buckets: number[], labelNames: L[] = []) =>
    new Histogram<L>({ name, help, labelNames, buckets, registers });

  const webhooks = counter('sms_webhooks_received_total', 'Webhook requests received, by webhook and result.', ['webhook', 'result']);
  const sends = counter('sms_sends_total', 'Sends to Twilio, by result and Twilio error code ("none" when there is none).', ['result', 'error_code']);
  const sendLatency = histogram(
    'sms_send_latency_seconds',
    'From the worker taking a message up to Twilio answering its create call.',
    [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  );
  const endToEnd = histogram(
    'sms_end_to_end_latency_seconds',
    'From a message being queued (deal event, panel send) to Twilio accepting it; held messages (quiet hours) included.',
    [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 14_400, 43_200],
  );
  const vendorCalls = histogram(
    'sms_vendor_call_duration_seconds',
    'HTTP calls to Pipedrive and Twilio, by vendor, operation and outcome.',
    [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15],
    ['vendor', 'operation', 'outcome'],
  );
  const rateLimited = counter('sms_vendor_rate_limited_total', 'Calls a vendor answered 429 (Too Many Requests), by vendor and operation.', ['vendor', 'operation']);
  const retries = counter(
    'sms_retries_total',
    'Failed messages and Pipedrive jobs queued again ("retry") or given up after their attempts ("gave_up").',
    ['queue', 'kind', 'outcome'],
  );
  let readDepth: QueueDepth | null = null;
  new Gauge({
    name: 'sms_queue_depth',
    help: 'Messages and jobs waiting, by queue and state (read when scraped).',
    labelNames: ['queue', 'state'],
    registers,
    async collect() {
      if (!readDepth) return;
      this.reset();
      for (const { queue, state, count } of await readDepth()) this.set({ queue, state }, count);
    },
  });

  return {
    webhookReceived: (kind, result) => webhooks.inc({ webhook: kind, result }),
    sendFinished: (result, errorCode) => sends.inc({ result, error_code: errorCodeLabel(errorCode) }),
    observeSendLatency: (seconds) => sendLatency.observe(Math.max(0, seconds)),
    observeEndToEndLatency: (seconds) => endToEnd.observe(Math.max(0, seconds)),
    vendorCall(vendor, operation, status, seconds) {
      const name = nameLabel(operation);
      vendorCalls.observe({ vendor, operation: name, outcome: callOutcome(status) }, Math.max(0, seconds));
      if (status === 429) rateLimited.inc({ vendor, operation: name });
    },
    messageRetry: (outcome) => retries.inc({ queue: 'messages', kind: 'message', outcome }),
    jobRetry: (kind, outcome) => retries.inc({ queue: 'jobs', kind: nameLabel(kind), outcome }),
    setQueueDepth(read) {
      readDepth = read;
    },
    contentType: registry.contentType,
    scrape: () => registry.metrics(),
  };
}

/** Seconds since a `process.hrtime.bigint()` reading. */
export const secondsSince = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e9;
