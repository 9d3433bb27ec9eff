/**
 * Our error classes. Vendor failures become these in the adapters (pipedrive/, twilio/); these become HTTP
 * answers in exactly one place, `httpStatusOf` used by the error handler in app.ts.
 */

export class AppError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The request itself is wrong: a 4xx the caller can fix. */
export class BadRequestError extends AppError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(message, 'bad_request', details);
  }
}

export class UnauthorizedError extends AppError {
  constructor(message = 'Authentication required') {
    super(message, 'unauthorized');
  }
}

export class ForbiddenError extends AppError {
  constructor(message = 'Forbidden') {
    super(message, 'forbidden');
  }
}

export class NotFoundError extends AppError {
  constructor(message = 'Not found') {
    super(message, 'not_found');
  }
}

/** The request is fine but the state forbids it (e.g. texting a contact who opted out). */
export class ConflictError extends AppError {
  constructor(message: string, code = 'conflict') {
    super(message, code);
  }
}

export class PayloadTooLargeError extends AppError {
  constructor(message = 'Request body too large') {
    super(message, 'payload_too_large');
  }
}

/** Too many failed authentications from one client address; it may try again after `retryAfterSeconds`. */
export class TooManyRequestsError extends AppError {
  constructor(readonly retryAfterSeconds: number) {
    super('Too many failed attempts from this address; try again later', 'too_many_requests');
  }
}

/** A Pipedrive API call failed; `status` is the HTTP status Pipedrive answered (0 for a network failure). */
export class PipedriveApiError extends AppError {
  constructor(
    message: string,
    readonly status: number,
    readonly retryAfterMs: number | null = null,
  ) {
    super(message, 'pipedrive_api_error', { status });
  }

  get retryable(): boolean {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }
}

/**
 * The installation can no longer act in Pipedrive (refresh token rejected, uninstalled): a person must reinstall. The
 * message and details name the user and company for the log; the caller is told neither (see publicErrorOf).
 */
export class InstallationRevokedError extends AppError {
  constructor(companyId: string, userId: string) {
    super(`The Pipedrive authorisation of user ${userId} in company ${companyId} is no longer valid`, 'installation_revoked', {
      companyId,
      userId,
    });
  }
}

/** A Twilio API call failed: `code` is Twilio's error code (null for network failures). */
export class SmsProviderError extends AppError {
  constructor(
    message: string,
    readonly status: number,
    readonly providerCode: number | null,
  ) {
    super(message, 'sms_provider_error', { status, providerCode });
  }

  /** 429, 5xx and network failures may succeed later; everything else (21211, 21610, 21614, 21408 …) cannot. */
  get retryable(): boolean {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }
}

export function httpStatusOf(error: unknown): number {
  if (error instanceof BadRequestError) return 400;
  if (error instanceof UnauthorizedError) return 401;
  if (error instanceof ForbiddenError) return 403;
  if (error instanceof NotFoundError) return 404;
  if (error instanceof ConflictError) return 409;
  if (error instanceof PayloadTooLargeError) return 413;
  if (error instanceof TooManyRequestsError) return 429;
  // A vendor that is down or refuses us is not the caller's fault, but it is not our crash either.
  if (error instanceof PipedriveApiError || error instanceof SmsProviderError) return 502;
  if (error instanceof InstallationRevokedError) return 409;
  return 500;
}

export type PublicError = { code: string; message: string; details?: Record<string, unknown> };

/**
 * What the caller is told about an error, in our own words. A vendor's message can carry its host, port or URL
 * ("connect ECONNREFUSED 10.0.0.7:443", an axios message with the request URL), so a vendor failure is described by
 * its status only; an error that names users, companies or rows internally says what happened without them. The log
 * keeps the error whole.
 */
export function publicErrorOf(error: unknown, status: number): PublicError {
  if (error instanceof PipedriveApiError) return { code: error.code, message: vendorMessage('Pipedrive', error.status) };
  if (error instanceof SmsProviderError) {
    const code = error.providerCode === null ? '' : `, error ${error.providerCode}`;
    return { code: error.code, message: error.status === 0 ? vendorMessage('Twilio', 0) : `Twilio refused the request (HTTP ${error.status}${code}).` };
  }
  if (error instanceof InstallationRevokedError) {
    return { code: error.code, message: 'The Pipedrive authorisation behind this request is no longer valid; the app needs to be installed again.' };
  }
  if (status >= 500 || !(error instanceof AppError)) return { code: 'internal_error', message: 'Internal error' };
  return { code: error.code, message: error.message, ...(error.details ? { details: error.details } : {}) };
}

function vendorMessage(vendor: string, status: number): string {
  if (status === 0) return `${vendor} could not be reached; please try again in a moment.`;
  if (status === 429) return `${vendor} is limiting requests; please try again in a moment.`;
  return `${vendor} answered an error (HTTP ${status}); please try again in a moment.`;
}

/**
 * The words a person is shown for a message's recorded failure. The record keeps the vendor's own message for the
 * operator, which for a network failure names a host and port; those failures are told in our words instead.
 */
export function failureTextOf(code: string | null, message: string | null): string | null {
  if (code === 'network') return 'Twilio could not be reached; the app stopped trying after several attempts.';
  if (code === 'installation_revoked') return 'The Pipedrive authorisation of the app is no longer valid; it needs to be installed again.';
  if (code?.startsWith('pipedrive_')) return 'Pipedrive could not be read; the app stopped trying after several attempts.';
  return message;
}
