import type * as http2 from "node:http2";
import { type PeerCertificate, checkServerIdentity as tlsCheckServerIdentity } from "node:tls";
import type { DescService } from "@bufbuild/protobuf";
import { type Client, createClient, type Transport } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { identityFromSubjectAltName } from "../tls/pki.js";

export interface NodeTransportOptions {
  /** "host:port" of the node to call. */
  endpoint: string;
  /** The federation CA that must have signed the server's certificate (not needed with `insecure`). */
  caPem?: string;
  /** This node's own certificate and key (omit only for enrollment). */
  certPem?: string;
  keyPem?: string;
  /**
   * This node's identity, read at each new connection instead of `certPem`/`keyPem`: the node
   * changes it in place when it renews its certificate, and new connections present the new one.
   */
  identity?: { certPem: string; keyPem: string };
  /** The institution id the server's certificate must carry. */
  expectId?: string;
  /** Skip CA verification (first contact during enrollment, before the CA is pinned). */
  insecure?: boolean;
}

/** A gRPC-over-HTTP/2 transport with mutual TLS, and the session it holds open. */
export interface NodeTransport {
  transport: Transport;
  close(): void;
}

export function baseUrl(endpoint: string): string {
  return `https://${endpoint}`;
}

/**
 * Checks the host name as TLS normally does, then that the certificate names
 * the institution we meant to call: a valid federation certificate of some
 * other node is not good enough.
 */
export function checkIdentity(expectId: string | undefined) {
  return (host: string, cert: PeerCertificate): Error | undefined => {
    const hostErr = tlsCheckServerIdentity(host, cert);
    if (hostErr) return hostErr;
    if (!expectId) return undefined;
    const id = identityFromSubjectAltName(cert.subjectaltname);
    if (id?.id !== expectId)
      return new Error(`server certificate names ${id?.id ?? "no LRS identity"}, expected ${expectId}`);
    return undefined;
  };
}

/**
 * connect-node's session manager (2.1.x) destroys a session with an error when a peer sends
 * GOAWAY with no open streams (a peer restarting, a connection reset), and may remove its own
 * "error" listener before Node emits that error: an unhandled 'error' event that ends the process.
 * The chaos harness found it killing a regional center. Every session a request ran on keeps a
 * listener of its own here; the error still reaches the calls through their streams and the
 * manager, which opens a new session for the next call.
 */
class GuardedSessionManager extends Http2SessionManager {
  readonly #guarded = new WeakSet<http2.ClientHttp2Session>();

  override async request(
    ...args: Parameters<Http2SessionManager["request"]>
  ): Promise<http2.ClientHttp2Stream> {
    const stream = await super.request(...args);
    const session = stream.session as http2.ClientHttp2Session | undefined;
    if (session && !this.#guarded.has(session)) {
      this.#guarded.add(session);
      session.on("error", () => {});
    }
    return stream;
  }
}

export function createNodeTransport(opts: NodeTransportOptions): NodeTransport {
  const url = baseUrl(opts.endpoint);
  const own = opts.identity;
  const tlsOptions = {
    ...(opts.caPem ? { ca: opts.caPem } : {}),
    ...(opts.certPem ? { cert: opts.certPem } : {}),
    ...(opts.keyPem ? { key: opts.keyPem } : {}),
    rejectUnauthorized: !opts.insecure,
    checkServerIdentity: checkIdentity(opts.expectId),
  };
  // Accessors (a spread would copy today's values): read when each connection is made.
  if (own) {
    Object.defineProperties(tlsOptions, {
      cert: { enumerable: true, get: () => own.certPem },
      key: { enumerable: true, get: () => own.keyPem },
    });
  }
  const sessionManager = new GuardedSessionManager(
    url,
    { pingIntervalMs: 15_000, pingTimeoutMs: 10_000, idleConnectionTimeoutMs: 60_000 },
    tlsOptions,
  );
  const transport = createGrpcTransport({ baseUrl: url, sessionManager });
  return { transport, close: () => sessionManager.abort() };
}

/** A typed client for one service over a node transport. */
export function clientFor<T extends DescService>(service: T, t: NodeTransport): Client<T> {
  return createClient(service, t.transport);
}
