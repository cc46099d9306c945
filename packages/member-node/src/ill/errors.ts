// Domain errors of the ILL store. Services map them to Connect codes (and ISO 18626 ErrorData)
// in one place; nothing here knows about the wire.

/** A request in the wrong state for an event or message: nothing was applied. */
export class IllStateError extends Error {
  override readonly name = "IllStateError";
  constructor(
    readonly requestId: string,
    readonly state: string,
    readonly event: string,
    readonly reason: string,
  ) {
    super(`ILL request ${requestId} in state ${state}: ${event} refused: ${reason}`);
  }
}

/** Input (a new request, an action's detail, an arriving message) that does not make sense. */
export class IllInputError extends Error {
  override readonly name = "IllInputError";
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`ILL request: ${field}: ${reason}`);
  }
}

/** No request with this id on this side. */
export class IllNotFoundError extends Error {
  override readonly name = "IllNotFoundError";
  constructor(readonly requestId: string) {
    super(`no ILL request ${requestId}`);
  }
}
