// A loopback HTTP receiver that records what the emulators send (webhooks, status callbacks, inbound SMS),
// for tests that check the emulators' outgoing wire format without the app in between.
import { startLoopbackServer, type RecordedRequest } from './http.js';

export interface SinkResponse {
  status?: number;
  headers?: Record<string, string>;
  body?: string;
}

export interface RequestSink {
  url: string;
  requests: RecordedRequest[];
  /** Answer for the following requests; default 200 with an empty body. */
  respondWith(response: SinkResponse | ((req: RecordedRequest) => SinkResponse)): void;
  close(): Promise<void>;
}

export async function startRequestSink(): Promise<RequestSink> {
  const requests: RecordedRequest[] = [];
  let responder: (req: RecordedRequest) => SinkResponse = () => ({});
  const server = await startLoopbackServer(0, (req, res) => {
    const recorded: RecordedRequest = {
      method: req.method, path: req.path, query: req.query, headers: req.headers, body: req.body, rawBody: req.rawBody, at: req.at,
    };
    requests.push(recorded);
    const answer = responder(recorded);
    res.writeHead(answer.status ?? 200, answer.headers ?? {});
    res.end(answer.body ?? '');
    return Promise.resolve();
  });
  return {
    url: server.url,
    requests,
    respondWith(response) {
      responder = typeof response === 'function' ? response : () => response;
    },
    close: () => server.close(),
  };
}
