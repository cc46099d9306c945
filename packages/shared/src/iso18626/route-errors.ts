// Refusals of the ILL relay and broker; rpc/errors.ts maps them to wire codes by name.

/** The caller may not send (or ask about) this: a member speaking for another, a region for another's members. */
export class IllForbiddenError extends Error {
  override readonly name = "IllForbiddenError";
}

/** The message cannot be routed from here: the destination is revoked, not a member, or has no regional center. */
export class IllRouteError extends Error {
  override readonly name = "IllRouteError";
}
