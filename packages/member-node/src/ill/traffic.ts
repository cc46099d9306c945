// ILL figures only the borrowing member can give: how long a request took to be filled, from its
// creation to the lender's Loaned or CopyCompleted (the "ill-turnaround" traffic figure).
import { illPb, type illServicePb, type TrafficRecorder } from "@lrs/shared";
import type { DeliverOutcome } from "./receiver.js";
import type { IllStore } from "./store.js";

/** Counts the turnaround of a borrowing request that a delivered message has just filled. */
export function countFilled(
  traffic: TrafficRecorder,
  store: Pick<IllStore, "get">,
  env: illServicePb.IllEnvelope,
  outcome: DeliverOutcome,
  now = Date.now(),
): void {
  const applied = outcome.applied;
  if (outcome.duplicate || !applied || applied.replayed) return;
  const m = env.message;
  if (m.case !== "supplyingAgencyMessage") return;
  const status = m.value.statusInfo?.status;
  if (status !== illPb.Status.LOANED && status !== illPb.Status.COPY_COMPLETED) return;
  const request = store.get(applied.requestId);
  if (request?.role !== "borrower") return;
  traffic.turnaround(
    status === illPb.Status.LOANED ? "loan" : "copy",
    env.originAgencyId,
    env.destinationAgencyId,
    Math.max(0, now - request.createdAt.getTime()),
  );
}
