// The management API's error replies: RabbitMQ's `{"error": <type>, "reason": <text>}` bodies with
// its status codes (rabbit_mgmt_util.erl, rabbit_web_dispatch_access_control.erl, 3.10.8 checked live).

/** HTTP statuses by name (the 4xx numbers would read as AMQP reply codes elsewhere). */
export const HTTP = {
  OK: 200,
  CREATED: 201,
  NO_CONTENT: 204,
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  PRECONDITION_FAILED: 412,
  PAYLOAD_TOO_LARGE: 413,
  INTERNAL_ERROR: 500,
  SERVICE_UNAVAILABLE: 503,
} as const;

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly error: string,
    /** Usually a text; RabbitMQ sometimes answers an Erlang term rendered as a JSON array. */
    readonly reason: string | readonly unknown[],
    /** Extra headers for this reply (the Basic challenge on a failed login). */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(typeof reason === 'string' ? reason : JSON.stringify(reason));
  }

  body(): { error: string; reason: string | readonly unknown[] } {
    return { error: this.error, reason: this.reason };
  }
}

export const BASIC_CHALLENGE = { 'www-authenticate': 'Basic realm="RabbitMQ Management"' } as const;

export const badRequest = (reason: string | readonly unknown[]): ApiError => new ApiError(HTTP.BAD_REQUEST, 'bad_request', reason);
/** A named object that does not exist; RabbitMQ's generic text unless a reason is given. */
export const notFound = (reason = 'Not Found'): ApiError => new ApiError(HTTP.NOT_FOUND, 'Object Not Found', reason);
export const notAuthorised = (reason: string): ApiError => new ApiError(HTTP.UNAUTHORIZED, 'not_authorised', reason);
/** Wrong or missing credentials: the only 401 that carries the Basic challenge. */
export const loginFailed = (): ApiError => new ApiError(HTTP.UNAUTHORIZED, 'not_authorized', 'Login failed', BASIC_CHALLENGE);
export const preconditionFailed = (reason: string): ApiError => new ApiError(HTTP.PRECONDITION_FAILED, 'precondition_failed', reason);
export const internalError = (): ApiError => new ApiError(HTTP.INTERNAL_ERROR, 'internal_server_error', 'Internal Server Error');
/** A PUT into a vhost that does not exist (rabbit_mgmt_util:vhost_not_found). */
export const vhostNotFound = (): ApiError => new ApiError(HTTP.NOT_FOUND, 'not_found', 'vhost_not_found');
