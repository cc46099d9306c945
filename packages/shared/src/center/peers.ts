import type { DescService } from "@bufbuild/protobuf";
import { type Client, createClient } from "@connectrpc/connect";
import type { DirectorySource } from "../directory/source.js";
import { createNodeTransport, type NodeTransport } from "../rpc/client.js";
import type { TlsIdentity } from "../tls/identity.js";

/**
 * Connections to other nodes by institution id, found in the directory and
 * kept open for reuse: a regional center's members, the national center's
 * regional centers, and peer regional centers for the fallback path.
 */
export class PeerClients {
  readonly #directory: DirectorySource;
  readonly #tls: TlsIdentity;
  readonly #open = new Map<string, { endpoint: string; t: NodeTransport }>();

  constructor(directory: DirectorySource, tls: TlsIdentity) {
    this.#directory = directory;
    this.#tls = tls;
  }

  /** A client for `service` at institution `id`; throws when the directory does not know it. */
  client<S extends DescService>(service: S, id: string): Client<S> {
    const inst = this.#directory.current().institutions.find((i) => i.id === id);
    if (!inst?.endpoint) throw new Error(`${id} is not in the directory (or has no endpoint)`);
    if (inst.revoked) throw new Error(`${id} has been revoked`);
    let open = this.#open.get(id);
    if (!open || open.endpoint !== inst.endpoint) {
      open?.t.close();
      open = {
        endpoint: inst.endpoint,
        t: createNodeTransport({
          endpoint: inst.endpoint,
          caPem: this.#tls.caPem,
          identity: this.#tls,
          expectId: id,
        }),
      };
      this.#open.set(id, open);
    }
    return createClient(service, open.t.transport);
  }

  /** Region of an institution, from the directory. */
  regionOf(id: string): string | undefined {
    return this.#directory.current().institutions.find((i) => i.id === id)?.region;
  }

  /** Institution → region of every institution of the directory (kept until the directory changes). */
  regions(): Record<string, string> {
    const current = this.#directory.current();
    if (this.#regions?.of !== current) {
      const map: Record<string, string> = {};
      for (const i of current.institutions) if (i.region) map[i.id] = i.region;
      this.#regions = { of: current, map };
    }
    return this.#regions.map;
  }
  #regions: { of: unknown; map: Record<string, string> } | undefined;

  close(): void {
    for (const o of this.#open.values()) o.t.close();
    this.#open.clear();
  }
}
