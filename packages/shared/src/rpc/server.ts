import type { IncomingMessage } from "node:http";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import type { TLSSocket } from "node:tls";
import {
  Code,
  ConnectError,
  type ConnectRouter,
  createContextValues,
  type Interceptor,
} from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { HealthCheckResponse_ServingStatus } from "../gen/grpc/health/v1/health_pb.js";
import type { Logger } from "../log.js";
import type { TlsIdentity } from "../tls/identity.js";
import { createTrafficInterceptor } from "../traffic/interceptor.js";
import type { TrafficRecorder } from "../traffic/recorder.js";
import { checkPolicyCoverage, createAuthzInterceptor, type Policy } from "./authz.js";
import { boundedError } from "./errors.js";
import { HealthState, registerHealth } from "./health.js";
import { createLimitsInterceptor } from "./limits.js";
import { type Peer, peerFromSocket, peerKey } from "./peer.js";
import { isRefusal, RefusalLog } from "./refusal-log.js";

export interface RpcServerOptions {
  /** "host:port"; port 0 picks a free one. */
  listen: string;
  tls: TlsIdentity;
  policy: Policy;
  isRevoked: (fingerprint256: string) => boolean;
  log: Logger;
  /** Registers the node's services. `streams` ends long-lived streams at shutdown. */
  routes: (router: ConnectRouter, streams: AbortSignal) => void;
  /** Service names reported by grpc.health.v1 (besides ""). */
  serviceNames: string[];
  /** Largest request message accepted, in bytes. */
  readMaxBytes?: number;
  /** Counts every call (traffic accounting); absent when `[traffic] enabled = false`. */
  traffic?: TrafficRecorder;
}

/**
 * One HTTP/2 TLS listener answering gRPC, gRPC-Web and Connect from the same
 * handlers, with mutual TLS, default-deny authorization and grpc.health.v1.
 */
export class RpcServer {
  readonly health: HealthState;
  readonly #server: http2.Http2SecureServer;
  readonly #sessions = new Set<http2.ServerHttp2Session>();
  readonly #streams = new AbortController();
  readonly #shutdown = new AbortController();
  readonly #opts: RpcServerOptions;
  #inFlight = 0;
  /**
   * The caller as its connection's TLS handshake proved it, read once per connection (an HTTP/2
   * session or an HTTP/1 socket) rather than per call: `getPeerCertificate` builds a new object
   * from the certificate each time, a measurable share of a small call's cost. Revocation is still
   * checked on every call (the authorization interceptor); what the handshake proved cannot change.
   */
  readonly #peers = new WeakMap<object, Readonly<Peer>>();
  #idle: (() => void) | undefined;
  #closing: Promise<void> | undefined;

  constructor(opts: RpcServerOptions) {
    this.#opts = opts;
    this.health = new HealthState(opts.serviceNames);
    const countCalls: Interceptor = (next) => async (req) => {
      this.#inFlight++;
      try {
        return await next(req);
      } finally {
        this.#inFlight--;
        if (this.#inFlight === 0) this.#idle?.();
      }
    };
    const refusals = new RefusalLog(opts.log);
    // Every error leaves here: domain errors get their code, anything else is INTERNAL with its
    // cause logged; messages are cut (they travel in a header); refused input is logged rate-limited.
    const failed = (err: unknown, method: string): ConnectError => {
      const ce = boundedError(err);
      if (ce.code === Code.Internal || ce.code === Code.Unknown)
        opts.log.error({ err, method, code: Code[ce.code] }, "call failed");
      else if (isRefusal(ce.code)) refusals.note(method, ce.code, ce.rawMessage);
      else opts.log.debug({ err: ce, method, code: Code[ce.code] }, "call failed");
      return ce;
    };
    const logErrors: Interceptor = (next) => async (req) => {
      const method = `${req.service.typeName}/${req.method.name}`;
      let res: Awaited<ReturnType<typeof next>>;
      try {
        res = await next(req);
      } catch (err) {
        throw failed(err, method);
      }
      if (!res.stream) return res;
      // A streamed answer fails while it is read: the same mapping for its error.
      const source = res.message;
      return {
        ...res,
        message: (async function* () {
          try {
            yield* source;
          } catch (err) {
            throw failed(err, method);
          }
        })(),
      };
    };
    const handler = connectNodeAdapter({
      routes: (router) => {
        const served: string[] = [];
        const recording = recordServed(router, served);
        registerHealth(recording, this.health, this.#streams.signal);
        opts.routes(recording, this.#streams.signal);
        // Every served method has exactly one rule, or the node does not start (authz-matrix.ts).
        checkPolicyCoverage(opts.policy, served);
      },
      interceptors: [
        countCalls,
        // Outside authorization, so refused calls are counted (and timed) too.
        ...(opts.traffic ? [createTrafficInterceptor(opts.traffic, opts.tls.identity)] : []),
        logErrors,
        createAuthzInterceptor({ self: opts.tls.identity, policy: opts.policy, isRevoked: opts.isRevoked }),
        // After authorization: a stranger's oversized message is refused for who sent it first.
        createLimitsInterceptor(),
      ],
      contextValues: (req) => createContextValues().set(peerKey, this.#peerOf(req)),
      shutdownSignal: this.#shutdown.signal,
      readMaxBytes: opts.readMaxBytes ?? 16 * 1024 * 1024,
    });
    this.#server = http2.createSecureServer(
      {
        key: opts.tls.keyPem,
        cert: opts.tls.certPem,
        ca: opts.tls.caPem,
        // The certificate is asked for on every connection; whether a call may go
        // ahead without one (enrollment only) is the authorization interceptor's call,
        // which refuses foreign, expired and revoked certificates everywhere else.
        requestCert: true,
        rejectUnauthorized: false,
        allowHTTP1: true,
        minVersion: "TLSv1.2",
      },
      handler,
    );
    this.#server.on("session", (s) => {
      this.#sessions.add(s);
      s.on("close", () => this.#sessions.delete(s));
      s.on("error", (err) => opts.log.debug({ err }, "http2 session error"));
    });
    this.#server.on("tlsClientError", (err) => opts.log.debug({ err }, "TLS handshake failed"));
  }

  /** Serves new connections with a renewed certificate (open ones keep theirs until they close). */
  useIdentity(tls: TlsIdentity): void {
    this.#server.setSecureContext({
      key: tls.keyPem,
      cert: tls.certPem,
      ca: tls.caPem,
      minVersion: "TLSv1.2",
    });
  }

  #peerOf(req: http2.Http2ServerRequest | IncomingMessage): Readonly<Peer> {
    const connection: object = ("stream" in req ? req.stream?.session : undefined) ?? req.socket;
    let peer = this.#peers.get(connection);
    if (!peer) {
      peer = Object.freeze(peerFromSocket(req.socket as TLSSocket));
      this.#peers.set(connection, peer);
    }
    return peer;
  }

  /** Starts listening; resolves with the bound "host:port". */
  listen(): Promise<string> {
    const i = this.#opts.listen.lastIndexOf(":");
    const host = this.#opts.listen.slice(0, i).replace(/^\[|\]$/g, "");
    const port = Number(this.#opts.listen.slice(i + 1));
    return new Promise((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(port, host, () => {
        this.#server.off("error", reject);
        const addr = this.#server.address() as AddressInfo;
        resolve(addr.family === "IPv6" ? `[${addr.address}]:${addr.port}` : `${addr.address}:${addr.port}`);
      });
    });
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /**
   * Graceful stop: health goes NOT_SERVING, streams end, new connections are
   * refused, calls in flight finish (up to `graceMs`), then what is left is cut.
   * Safe to call more than once.
   */
  close(graceMs = 10_000): Promise<void> {
    this.#closing ??= this.#close(graceMs);
    return this.#closing;
  }

  async #close(graceMs: number): Promise<void> {
    this.health.setAll(HealthCheckResponse_ServingStatus.NOT_SERVING);
    this.#streams.abort();
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const s of this.#sessions) s.close();
    const idle = new Promise<void>((resolve) => {
      if (this.#inFlight === 0) resolve();
      else this.#idle = resolve;
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), graceMs);
    });
    const res = await Promise.race([idle.then(() => closed), timeout]);
    if (res === "timeout") {
      this.#opts.log.warn(
        { inFlight: this.#inFlight },
        "shutdown grace period over; cutting remaining calls",
      );
      this.#shutdown.abort(new ConnectError("server is shutting down", Code.Unavailable));
      for (const s of this.#sessions) s.destroy();
      await closed;
    }
    clearTimeout(timer);
  }
}

/**
 * The router, noting each method given an implementation ("lrs.v1.X/Y"); a service's methods
 * left out answer UNIMPLEMENTED and are not served.
 */
function recordServed(router: ConnectRouter, served: string[]): ConnectRouter {
  const recording: ConnectRouter = {
    handlers: router.handlers,
    service(service, impl, options) {
      const fns = impl as Record<string, unknown>;
      for (const m of service.methods)
        if (typeof fns[m.localName] === "function") served.push(`${service.typeName}/${m.name}`);
      router.service(service, impl, options);
      return recording;
    },
    rpc(method, impl, options) {
      served.push(`${method.parent.typeName}/${method.name}`);
      router.rpc(method, impl, options);
      return recording;
    },
  };
  return recording;
}
