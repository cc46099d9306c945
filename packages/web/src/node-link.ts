// The web application's one connection to its own node: HTTP/2 with mutual TLS, the node's own
// certificate (as its CLI calls it), kept open and reconnected by connect-node's session manager.
import type { ClientHttp2Stream, OutgoingHttpHeaders } from "node:http2";
import type { Transport } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { baseUrl, checkIdentity, type TlsIdentity } from "@lrs/shared";

export interface NodeLinkOptions {
  /** "host:port" of the node's gRPC listener (known once it listens). */
  endpoint: () => string;
  tls: TlsIdentity;
  /** The node's own id: its certificate must carry it. */
  nodeId: string;
}

export class NodeLink {
  #manager: Http2SessionManager | undefined;
  #transport: Transport | undefined;

  constructor(private readonly o: NodeLinkOptions) {}

  #url(): string {
    return baseUrl(
      this.o
        .endpoint()
        .replace(/^0\.0\.0\.0:/, "127.0.0.1:")
        .replace(/^\[::\]:/, "[::1]:"),
    );
  }

  #session(): Http2SessionManager {
    this.#manager ??= new Http2SessionManager(
      this.#url(),
      { pingIntervalMs: 15_000, pingTimeoutMs: 10_000, idleConnectionTimeoutMs: 60_000 },
      {
        ca: this.o.tls.caPem,
        cert: this.o.tls.certPem,
        key: this.o.tls.keyPem,
        rejectUnauthorized: true,
        checkServerIdentity: checkIdentity(this.o.nodeId),
      },
    );
    return this.#manager;
  }

  /** A raw HTTP/2 request to the node (the proxy passes Connect-protocol bodies through as they are). */
  request(path: string, headers: OutgoingHttpHeaders): Promise<ClientHttp2Stream> {
    return this.#session().request("POST", path, headers, {});
  }

  /** A typed-client transport to the node (uploads, downloads, the change watcher). */
  transport(): Transport {
    this.#transport ??= createGrpcTransport({ baseUrl: this.#url(), sessionManager: this.#session() });
    return this.#transport;
  }

  close(): void {
    this.#manager?.abort();
    this.#manager = undefined;
    this.#transport = undefined;
  }
}
