/** One thing wrong with a request, named by the field it concerns (a dotted path such as `productOrderItem.0.action`). */
export interface Problem {
  field: string;
  message: string;
}

/** The request is malformed or breaks a rule: nothing was written. */
export class ValidationError extends Error {
  override readonly name = 'ValidationError';
  constructor(readonly problems: Problem[]) {
    super(problems.map((p) => (p.field ? `${p.field}: ${p.message}` : p.message)).join('; '));
  }
}

export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
}

/** No verified identity came with the request. */
export class UnauthorizedError extends Error {
  override readonly name = 'UnauthorizedError';
}

/** The caller is known but its role does not allow this. */
export class ForbiddenError extends Error {
  override readonly name = 'ForbiddenError';
}

export class PayloadTooLargeError extends Error {
  override readonly name = 'PayloadTooLargeError';
}

/** The request is valid but the resource is not in a state that allows it. */
export class ConflictError extends Error {
  override readonly name = 'ConflictError';
}

/** A change that must be conditional came without `If-Match`: nothing was written (HTTP 428). */
export class PreconditionRequiredError extends Error {
  override readonly name = 'PreconditionRequiredError';
}

/** `If-Match` names a revision that is no longer the current one: nothing was written (HTTP 412). */
export class PreconditionFailedError extends Error {
  override readonly name = 'PreconditionFailedError';
}

/** A mapping (JSONata) threw or produced something that is not JSON. */
export class MappingError extends Error {
  override readonly name = 'MappingError';
  constructor(
    readonly mapping: string,
    message: string,
  ) {
    super(`mapping "${mapping}": ${message}`);
  }
}

/** A callout did not produce a usable answer: the system refused, timed out or answered something unusable. */
export class CalloutError extends Error {
  override readonly name = 'CalloutError';
  constructor(
    message: string,
    readonly status?: number,
    /** No HTTP answer came at all: the connection failed or timed out (what the circuit breaker counts). */
    readonly unreachable = false,
  ) {
    super(message);
  }
}
