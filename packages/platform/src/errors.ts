/**
 * The closed set of failure kinds; HTTP and gRPC statuses are derived from it in one place.
 * A service names its own finer problems with AppError's `type` (inventory's `insufficient-stock`).
 */
export const ErrorCode = {
  InvalidArgument: 'INVALID_ARGUMENT',
  /** The caller is known but may not do this (a customer acting for someone else). */
  Forbidden: 'FORBIDDEN',
  NotFound: 'NOT_FOUND',
  Conflict: 'CONFLICT',
  /** A conditional request (`If-Match`) found the resource changed since the caller read it. */
  PreconditionFailed: 'PRECONDITION_FAILED',
  Unprocessable: 'UNPROCESSABLE',
  Unavailable: 'UNAVAILABLE',
  DeadlineExceeded: 'DEADLINE_EXCEEDED',
  Internal: 'INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** One field that failed validation and why. */
export interface FieldError {
  field: string;
  reason: string;
}

/** An error a caller can act on. Anything that is not an AppError is reported as a bare 500. */
export class AppError extends Error {
  override name = 'AppError';
  readonly code: ErrorCode;
  readonly errors: FieldError[];
  /** A finer problem type than the code gives (e.g. `reservation-released`); defaults to the code. */
  readonly type: string | undefined;
  /** An answer the service means to give (a refusal at capacity), not a failure worth a warning in the log. */
  readonly expected: boolean;

  constructor(
    code: ErrorCode,
    message: string,
    options: { errors?: FieldError[]; cause?: unknown; type?: string; expected?: boolean } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.errors = options.errors ?? [];
    this.type = options.type;
    this.expected = options.expected ?? false;
  }

  /** A 4xx for one bad field. */
  static invalid(field: string, reason: string, code: ErrorCode = ErrorCode.InvalidArgument): AppError {
    return new AppError(code, `${field}: ${reason}`, { errors: [{ field, reason }] });
  }
}

/**
 * Something the service stands on (its database, NATS) cannot be used right now: unreachable,
 * too slow, locked or out of space. It says nothing about the request or the event: retry later,
 * never dead-letter. HTTP answers 503 with Retry-After.
 */
export class InfrastructureError extends AppError {
  override name = 'InfrastructureError';
  constructor(
    readonly dependency: 'database' | 'nats',
    message: string,
    cause?: unknown,
  ) {
    super(ErrorCode.Unavailable, `${dependency} unavailable: ${message}`, { cause, type: `${dependency}-unavailable` });
  }
}

/** True when `error` is the infrastructure failing, not the work. */
export function isInfrastructureFailure(error: unknown): error is InfrastructureError {
  return error instanceof InfrastructureError;
}

export const httpStatusOf: Record<ErrorCode, number> = {
  INVALID_ARGUMENT: 400,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PRECONDITION_FAILED: 412,
  UNPROCESSABLE: 422,
  UNAVAILABLE: 503,
  DEADLINE_EXCEEDED: 504,
  INTERNAL: 500,
};

/** gRPC status numbers (grpc.status), kept numeric so this module needs no gRPC import. */
export const grpcStatusOf: Record<ErrorCode, number> = {
  INVALID_ARGUMENT: 3,
  FORBIDDEN: 7, // PERMISSION_DENIED
  NOT_FOUND: 5,
  CONFLICT: 9, // FAILED_PRECONDITION
  PRECONDITION_FAILED: 9,
  UNPROCESSABLE: 9,
  UNAVAILABLE: 14,
  DEADLINE_EXCEEDED: 4,
  INTERNAL: 13,
};

const codeOfGrpc = new Map<number, ErrorCode>([
  [3, ErrorCode.InvalidArgument],
  [5, ErrorCode.NotFound],
  [7, ErrorCode.Forbidden],
  [9, ErrorCode.Conflict],
  [4, ErrorCode.DeadlineExceeded],
  [14, ErrorCode.Unavailable],
  [1, ErrorCode.Unavailable], // CANCELLED: the call did not complete
]);

/** Maps a gRPC status back to an ErrorCode (for clients of a gRPC service). */
export function errorCodeOfGrpc(status: number): ErrorCode {
  return codeOfGrpc.get(status) ?? ErrorCode.Internal;
}

/** True for failures that a retry may heal: the callee was unreachable, slow or broken. */
export function isTransient(error: unknown): boolean {
  if (!(error instanceof AppError)) return true;
  return error.code === ErrorCode.Unavailable || error.code === ErrorCode.DeadlineExceeded || error.code === ErrorCode.Internal;
}
