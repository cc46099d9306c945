import type { ConnectRouter, HandlerContext } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  Health,
  type HealthCheckResponse_ServingStatus,
  HealthCheckResponse_ServingStatus as S,
} from "../gen/grpc/health/v1/health_pb.js";
import { AsyncQueue } from "../util/async-queue.js";

/** Serving status of the node ("" = the whole server) and of each service it names. */
export class HealthState {
  readonly #status = new Map<string, HealthCheckResponse_ServingStatus>();
  readonly #watchers = new Set<(service: string) => void>();

  constructor(services: string[]) {
    this.#status.set("", S.SERVING);
    for (const s of services) this.#status.set(s, S.SERVING);
  }

  get(service: string): HealthCheckResponse_ServingStatus | undefined {
    return this.#status.get(service);
  }

  all(): Map<string, HealthCheckResponse_ServingStatus> {
    return new Map(this.#status);
  }

  /** Sets every service to the same status (start-up, shutdown). */
  setAll(status: HealthCheckResponse_ServingStatus): void {
    for (const k of this.#status.keys()) this.set(k, status);
  }

  set(service: string, status: HealthCheckResponse_ServingStatus): void {
    if (this.#status.get(service) === status) return;
    this.#status.set(service, status);
    for (const w of this.#watchers) w(service);
  }

  onChange(fn: (service: string) => void): () => void {
    this.#watchers.add(fn);
    return () => this.#watchers.delete(fn);
  }
}

/** The standard grpc.health.v1.Health service over a HealthState. */
export function registerHealth(router: ConnectRouter, state: HealthState, streamsSignal: AbortSignal): void {
  router.service(Health, {
    check(req) {
      const status = state.get(req.service);
      if (status === undefined) throw new ConnectError(`unknown service "${req.service}"`, Code.NotFound);
      return { status };
    },
    list() {
      return { statuses: Object.fromEntries([...state.all()].map(([k, status]) => [k, { status }])) };
    },
    async *watch(req, ctx: HandlerContext) {
      const signal = AbortSignal.any([ctx.signal, streamsSignal]);
      const queue = new AsyncQueue<HealthCheckResponse_ServingStatus>(signal);
      const current = () => state.get(req.service) ?? S.SERVICE_UNKNOWN;
      const off = state.onChange((s) => {
        if (s === req.service) queue.push(current());
      });
      try {
        yield { status: current() };
        for await (const status of queue) yield { status };
      } finally {
        off();
      }
    },
  });
}
