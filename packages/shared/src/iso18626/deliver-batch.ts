// Several ILL hops in one call (IllService.DeliverBatch): the receiver's rule (in order, in one
// transaction, stop at the first refusal) and the sender's (a link's queued envelopes in one call,
// one at a time to a node of v0.1.0, which has no DeliverBatch).
import { type Client, Code, ConnectError } from "@connectrpc/connect";
import type { Database } from "../db.js";
import type { IllEnvelope, IllService } from "../gen/lrs/v1/ill_service_pb.js";
import type { BatchSender } from "../outbox.js";
import { ValidationError } from "../rpc/errors.js";
import { envelopeFromOutbox, ILL_OUTBOX_KINDS } from "./envelope.js";

/** How long one hop may take to store an envelope (or a batch of them) before the outbox retries it. */
export const DELIVER_TIMEOUT_MS = 10_000;

/** The most envelopes in one DeliverBatch. */
export const DELIVER_BATCH_MAX = 100;

/**
 * Applies `envelopes` in order with `one` (what Deliver does with one) in one transaction, so that
 * a batch costs one commit: all of them are durable when it returns, or none. A refusal of the
 * first is thrown as Deliver would throw it; a refusal of a later one ends the batch there (its
 * savepoint rolled back), and the answers of those before it are returned: the sender sends the
 * refused one again, first of its next call, and gets the refusal then.
 * @throws ValidationError when there are none, or more than DELIVER_BATCH_MAX.
 */
export function deliverInOrder<T>(
  db: Database,
  envelopes: readonly IllEnvelope[],
  one: (env: IllEnvelope) => T,
): T[] {
  if (envelopes.length === 0) throw new ValidationError("envelopes: at least one is required");
  if (envelopes.length > DELIVER_BATCH_MAX)
    throw new ValidationError(
      `envelopes: ${envelopes.length} in one call, more than the limit of ${DELIVER_BATCH_MAX}`,
    );
  return db.transaction(() => {
    const results: T[] = [];
    for (const env of envelopes) {
      try {
        results.push(db.transaction(() => one(env)));
      } catch (err) {
        if (results.length === 0) throw err;
        break;
      }
    }
    return results;
  });
}

/** How long a peer that has no DeliverBatch (v0.1.0) is sent one envelope at a time before it is asked again. */
const ONE_AT_A_TIME_MS = 10 * 60_000;

/**
 * The outbox's batch sender for ILL envelopes on one link: every ILL kind queued for `client`'s
 * node goes in one DeliverBatch, in order. A node that answers UNIMPLEMENTED (the previous
 * release) gets Deliver, one envelope per call, for the next ten minutes. `accepts` can narrow
 * the kinds (a kind with a sender of its own stays out).
 */
export function illBatchSender(
  client: () => Client<typeof IllService>,
  o: { signal?: AbortSignal; timeoutMs?: number; accepts?: (kind: string) => boolean } = {},
): BatchSender {
  const timeoutMs = o.timeoutMs ?? DELIVER_TIMEOUT_MS;
  const accepts = o.accepts ?? (() => true);
  let oneAtATimeUntil = 0;
  return {
    accepts: (kind) => ILL_OUTBOX_KINDS.includes(kind) && accepts(kind),
    max: DELIVER_BATCH_MAX,
    send: async (msgs) => {
      const envelopes = msgs.map((m) => envelopeFromOutbox(m.kind, m.payload));
      const call = { timeoutMs, ...(o.signal ? { signal: o.signal } : {}) };
      if (Date.now() >= oneAtATimeUntil) {
        try {
          const res = await client().deliverBatch({ envelopes }, call);
          if (res.results.length === 0) throw new Error("DeliverBatch answered without a result");
          return Math.min(res.results.length, envelopes.length);
        } catch (err) {
          if (!(err instanceof ConnectError && err.code === Code.Unimplemented)) throw err;
          oneAtATimeUntil = Date.now() + ONE_AT_A_TIME_MS;
        }
      }
      await client().deliver({ envelope: envelopes[0] }, call);
      return 1;
    },
  };
}
