/** A cluster id that this catalog does not know (never issued, removed, or another node's). */
export class UnknownClusterError extends Error {
  override readonly name = "UnknownClusterError";
  constructor(readonly clusterId: string) {
    super(`no cluster ${clusterId}`);
  }
}

/** An operator's split that cannot be done as asked. */
export class InvalidSplitError extends Error {
  override readonly name = "InvalidSplitError";
  constructor(
    readonly clusterId: string,
    readonly reason: string,
  ) {
    super(`cannot split ${clusterId}: ${reason}`);
  }
}

/** endResync for a resync that is not the one in progress for that source. */
export class ResyncStateError extends Error {
  override readonly name = "ResyncStateError";
  constructor(
    readonly source: string,
    readonly epoch: bigint,
    readonly activeEpoch: string | undefined,
  ) {
    super(
      activeEpoch === undefined
        ? `no resync of ${source} is in progress (asked to end epoch ${epoch})`
        : `resync ${epoch} of ${source} is not the one in progress (${activeEpoch})`,
    );
  }
}
