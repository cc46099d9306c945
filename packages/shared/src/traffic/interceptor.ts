// The one place every RPC is counted: a Connect interceptor on the node's server. The caller is
// the institution of the peer certificate; what the call was (a search and its scope, a sync batch
// and its records, an ILL message and what it says) is read from the messages it carries.
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { type PushChangesRequest, ResyncPhase } from "../gen/lrs/v1/catalog_pb.js";
import { Tier } from "../gen/lrs/v1/common_pb.js";
import type {
  DeliverBatchRequest,
  DeliverBatchResponse,
  DeliverRequest,
  DeliverResponse,
  IllEnvelope,
} from "../gen/lrs/v1/ill_service_pb.js";
import { Scope, type SearchRequest } from "../gen/lrs/v1/search_pb.js";
import { describeEnvelope } from "../iso18626/envelope.js";
import { peerKey } from "../rpc/peer.js";
import { ANONYMOUS, TRAFFIC_KINDS } from "./cells.js";
import type { TrafficRecorder } from "./recorder.js";

const SEARCH = "lrs.v1.SearchService/Search";
const PUSH = "lrs.v1.CatalogSyncService/PushChanges";
const DELIVER = "lrs.v1.IllService/Deliver";
const DELIVER_BATCH = "lrs.v1.IllService/DeliverBatch";

/** "local", "region", "national": a scope as traffic figures name it. */
export function scopeName(scope: Scope, tier: Tier): string {
  switch (scope) {
    case Scope.LOCAL:
      return "local";
    case Scope.REGION:
      return "region";
    case Scope.NATIONAL:
      return "national";
    default:
      // What the node answers for an unspecified scope (member-node and union search services).
      return tier === Tier.MEMBER ? "local" : tier === Tier.REGIONAL ? "region" : "national";
  }
}

/**
 * Counts every call: an "rpc" figure by method and caller, an "error" figure by method and code
 * when it fails, and for searches, sync batches and ILL messages a figure of their own. Server
 * streams are counted when the stream ends, with its whole duration.
 */
export function createTrafficInterceptor(
  recorder: TrafficRecorder,
  self: { id: string; tier: Tier },
): Interceptor {
  /** An ILL message counts once per node that stores it; a retry (duplicate) is not a message. */
  const countMessage = (env: IllEnvelope, ms: number) =>
    recorder.add(TRAFFIC_KINDS.ill, describeEnvelope(env), env.originAgencyId, env.destinationAgencyId, ms);
  const count = (
    method: string,
    caller: string,
    ms: number,
    err: unknown,
    request: unknown,
    response: unknown,
  ) => {
    const failed = err !== undefined;
    recorder.add(TRAFFIC_KINDS.rpc, method, caller, self.id, ms, failed);
    if (failed) {
      const code = err instanceof ConnectError ? err.code : ConnectError.from(err).code;
      recorder.add(TRAFFIC_KINDS.error, `${method} ${Code[code] ?? code}`, caller, self.id);
    }
    switch (method) {
      case SEARCH: {
        const scope = (request as SearchRequest | undefined)?.scope ?? Scope.UNSPECIFIED;
        recorder.add(TRAFFIC_KINDS.search, scopeName(scope, self.tier), caller, self.id, ms, failed);
        break;
      }
      case PUSH: {
        const req = request as PushChangesRequest | undefined;
        const detail = req && req.resync !== ResyncPhase.UNSPECIFIED ? "resync" : "batch";
        recorder.add(TRAFFIC_KINDS.sync, detail, caller, self.id, ms, failed, req?.changes.length ?? 0);
        break;
      }
      case DELIVER: {
        const env = (request as DeliverRequest | undefined)?.envelope;
        if (failed || !env || (response as DeliverResponse | undefined)?.duplicate) break;
        countMessage(env, ms);
        break;
      }
      case DELIVER_BATCH: {
        // Those stored (results[i] answers envelopes[i]), each with the time of the whole call.
        const envelopes = (request as DeliverBatchRequest | undefined)?.envelopes ?? [];
        const results = (response as DeliverBatchResponse | undefined)?.results ?? [];
        results.forEach((r, i) => {
          const env = envelopes[i];
          if (env && !r.duplicate) countMessage(env, ms);
        });
        break;
      }
    }
  };

  return (next) => async (req) => {
    const started = performance.now();
    const method = `${req.service.typeName}/${req.method.name}`;
    const caller = req.contextValues.get(peerKey).identity?.id ?? ANONYMOUS;
    if (!req.stream) {
      try {
        const res = await next(req);
        if (!res.stream)
          count(method, caller, performance.now() - started, undefined, req.message, res.message);
        return res;
      } catch (err) {
        count(method, caller, performance.now() - started, err, req.message, undefined);
        throw err;
      }
    }
    // A stream: keep its first request message (a server stream has only that one) and count
    // when the response stream is over, however it ends.
    let first: unknown;
    const input = req.message;
    const tapped = (async function* () {
      for await (const m of input) {
        first ??= m;
        yield m;
      }
    })();
    let res: Awaited<ReturnType<typeof next>>;
    try {
      res = await next({ ...req, message: tapped });
    } catch (err) {
      count(method, caller, performance.now() - started, err, first, undefined);
      throw err;
    }
    if (!res.stream) {
      count(method, caller, performance.now() - started, undefined, first, res.message);
      return res;
    }
    const output = res.message;
    return {
      ...res,
      message: (async function* () {
        let error: unknown;
        try {
          yield* output;
        } catch (err) {
          error = err;
          throw err;
        } finally {
          count(method, caller, performance.now() - started, error, first, undefined);
        }
      })(),
    };
  };
}
