// An HTTP emulator of the Twilio REST API (v2010 Messages, Account and IncomingPhoneNumbers; Messaging v1
// Services) plus a simulated phone. Used by sandbox mode and the integration tests, which point the real `twilio`
// SDK at it through a RequestClient that rewrites the origin: api.twilio.com and messaging.twilio.com both land
// here, so routes are told apart by path alone. Wire details (form bodies, error JSON, signatures, keyword handling)
// follow Twilio's documented behaviour. One file per resource, each a layer of the class:
// store -> phone -> messages -> accounts -> this file (the HTTP server, authentication, routing, faults).
import type { ServerResponse } from 'node:http';
import { parseBasicAuth, playFault, randomHex, recordRequest, sendJson, startLoopbackServer, type EmulatorRequest } from '../http.js';
import { TwilioError, errorBody, notFound, unauthenticated, defaultCode, defaultMessage, type TwilioAccount, type TwilioEmulatorOptions } from './internals.js';
import { accountResource, numberResource, serviceResource } from './shapes.js';
import { TwilioAccounts } from './accounts.js';

export { TWILIO_AUTO_REPLIES, classifyKeyword, parseTwimlMessages } from './internals.js';
export type {
  TwilioEmulatorOptions,
  MessageStatus,
  TwilioAccount,
  PhoneNumberCapabilities,
  TwilioNumber,
  TwilioMessagingService,
  TwilioMessage,
  InboxEntry,
  SignedPost,
  ReplyResult,
  TwilioFault,
} from './internals.js';
export type { RecordedRequest, DeliveryResult } from '../http.js';

export class TwilioEmulator extends TwilioAccounts {

  async start(port = 0): Promise<this> {
    this.server = await startLoopbackServer(port, (req, res) => this.handle(req, res));
    return this;
  }


  async close(): Promise<void> {
    this.closed = true;
    await this.idle();
    await this.server?.close();
    this.server = null;
  }

  /** Resolves when automatic status progressions and their callbacks have finished. */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }


  private async handle(req: EmulatorRequest, res: ServerResponse): Promise<void> {
    recordRequest(req, res, this.recorded);
    const common = { 'twilio-request-id': `RQ${randomHex(16)}`, 'twilio-concurrent-requests': '1' };
    const faulted = await playFault(this.faults, req, (fault, status) => {
      const code = fault.code ?? defaultCode(status);
      sendJson(res, status, errorBody(code, fault.message ?? defaultMessage(status), status), common);
    });
    if (faulted) return;

    try {
      const list = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/.exec(req.path);
      const one = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\/([^/]+)\.json$/.exec(req.path);
      if (list?.[1] && req.method === 'POST') {
        const account = this.authenticate(req, list[1]);
        const message = this.createMessage(account, (req.body ?? {}) as Record<string, string | string[]>);
        return sendJson(res, 201, this.resource(message), common);
      }
      if (list?.[1] && req.method === 'GET') {
        const account = this.authenticate(req, list[1]);
        return sendJson(res, 200, this.listMessages(account, req), common);
      }
      if (one?.[1] && one[2] && req.method === 'GET') {
        const account = this.authenticate(req, one[1]);
        const message = this.messageList.find((m) => m.sid === one[2] && m.accountSid === account.sid);
        if (!message) throw notFound(req.path);
        return sendJson(res, 200, this.resource(message), common);
      }

      const accountPath = /^\/2010-04-01\/Accounts\/([^/]+)\.json$/.exec(req.path);
      if (accountPath?.[1] && req.method === 'GET') {
        return sendJson(res, 200, accountResource(this.authenticate(req, accountPath[1])), common);
      }
      const numberList = /^\/2010-04-01\/Accounts\/([^/]+)\/IncomingPhoneNumbers\.json$/.exec(req.path);
      if (numberList?.[1] && req.method === 'GET') {
        const account = this.authenticate(req, numberList[1]);
        return sendJson(res, 200, this.listNumbers(account, req), common);
      }
      const numberOne = /^\/2010-04-01\/Accounts\/([^/]+)\/IncomingPhoneNumbers\/([^/]+)\.json$/.exec(req.path);
      if (numberOne?.[1] && numberOne[2] && (req.method === 'GET' || req.method === 'POST')) {
        const account = this.authenticate(req, numberOne[1]);
        const number = [...this.numberMap.values()].find((n) => n.sid === numberOne[2] && n.accountSid === account.sid);
        if (!number) throw notFound(req.path);
        if (req.method === 'POST') this.updateNumber(number, (req.body ?? {}) as Record<string, string | string[]>);
        return sendJson(res, 200, numberResource(number), common);
      }

      // Messaging v1 lives on messaging.twilio.com; with every host rewritten to this origin, its `/v1/Services/MG…`
      // paths cannot collide with the 2010 API. Other products' `/v1/Services` (Verify VA…, Chat IS…) answer 404.
      const servicePath = /^\/v1\/Services\/([^/]+)$/.exec(req.path);
      if (servicePath?.[1] && req.method === 'GET') {
        // No account in the path: the Basic-auth username names the account, and a service of another
        // account is indistinguishable from a missing one.
        const account = this.authenticateAny(req);
        const service = this.serviceMap.get(servicePath[1]);
        if (!service || service.accountSid !== account.sid) throw notFound(req.path);
        return sendJson(res, 200, serviceResource(service), common);
      }
      throw notFound(req.path);
    } catch (err) {
      if (err instanceof TwilioError) {
        sendJson(res, err.status, errorBody(err.code, err.message, err.status), { ...common, ...err.headers });
        return;
      }
      throw err;
    }
  }

  /** The account named in the path, which the Basic-auth credentials must be the sid and token of. */
  private authenticate(req: EmulatorRequest, accountSid: string): TwilioAccount {
    const account = this.authenticateAny(req);
    if (account.sid !== accountSid) throw unauthenticated();
    return account;
  }

  /** The account whose sid and token the Basic-auth credentials are (Messaging v1 paths carry no account). */
  private authenticateAny(req: EmulatorRequest): TwilioAccount {
    const creds = parseBasicAuth(req.headers.authorization);
    const account = creds ? this.accountMap.get(creds.user) : undefined;
    if (!creds || !account || creds.password !== account.authToken) throw unauthenticated();
    return account;
  }
}

export async function startTwilioEmulator(opts: TwilioEmulatorOptions = {}): Promise<TwilioEmulator> {
  return new TwilioEmulator(opts).start(opts.port ?? 0);
}
