/** A refusal from the Kubernetes API, with the Status fields that say why (reason, message, causes). */
export class KubeApiError extends Error {
  override readonly name = "KubeApiError";

  constructor(
    readonly statusCode: number,
    readonly reason: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }

  /** Conflicts, throttling and server-side trouble pass; a requeue with back-off is the right answer. */
  get retryable(): boolean {
    return this.statusCode === 409 || this.statusCode === 429 || this.statusCode >= 500;
  }
}

export function isNotFound(error: unknown): boolean {
  return error instanceof KubeApiError && error.statusCode === 404;
}

export function isConflict(error: unknown): boolean {
  return error instanceof KubeApiError && error.statusCode === 409;
}

export function isAlreadyExists(error: unknown): boolean {
  return error instanceof KubeApiError && error.statusCode === 409 && error.reason === "AlreadyExists";
}

/** Builds the error from a response body, which is a metav1.Status for API refusals (and text otherwise). */
export function kubeApiErrorFrom(statusCode: number, body: string, what: string): KubeApiError {
  try {
    const status = JSON.parse(body) as { reason?: string; message?: string; details?: unknown };
    return new KubeApiError(
      statusCode,
      status.reason ?? "Unknown",
      `${what}: ${status.message ?? body}`,
      status.details,
    );
  } catch {
    return new KubeApiError(statusCode, "Unknown", `${what}: HTTP ${statusCode} ${body.slice(0, 200)}`);
  }
}
