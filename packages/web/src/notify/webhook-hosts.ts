// Which hosts a staff user's webhook may call ([notifications] webhook_hosts), so that a webhook
// cannot be pointed at the node's own machine, its network or a cloud metadata endpoint (SSRF).
// Without the setting: any host whose every address is public. With it: only the hosts it names
// (a name, "*.example.org", an address or a CIDR range), and a private, loopback or link-local
// address only when an address or range of the list holds it. The check is made when the webhook
// is saved and again on every delivery, on the addresses the connection is actually made to.
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { BlockList, isIP, type LookupFunction } from "node:net";

/** Addresses no webhook reaches unless webhook_hosts names them: this machine, private networks, link-local (metadata). */
const RESERVED: Array<[string, number, "ipv4" | "ipv6", string]> = [
  ["0.0.0.0", 8, "ipv4", "this network"],
  ["127.0.0.0", 8, "ipv4", "loopback"],
  ["10.0.0.0", 8, "ipv4", "private"],
  ["172.16.0.0", 12, "ipv4", "private"],
  ["192.168.0.0", 16, "ipv4", "private"],
  ["100.64.0.0", 10, "ipv4", "shared (carrier-grade NAT)"],
  ["169.254.0.0", 16, "ipv4", "link-local"],
  ["192.0.0.0", 24, "ipv4", "IETF protocol assignments"],
  ["198.18.0.0", 15, "ipv4", "benchmarking"],
  ["224.0.0.0", 4, "ipv4", "multicast"],
  ["240.0.0.0", 4, "ipv4", "reserved"],
  ["::", 128, "ipv6", "unspecified"],
  ["::1", 128, "ipv6", "loopback"],
  ["fc00::", 7, "ipv6", "private (unique local)"],
  ["fe80::", 10, "ipv6", "link-local"],
  ["ff00::", 8, "ipv6", "multicast"],
];

const SETTING = "[notifications] webhook_hosts";

/** A webhook host or address that is not allowed; the message names the host and the setting. */
export class WebhookHostRefused extends Error {}

/** The reserved ranges by kind (an IPv4 range also holds its IPv4-mapped IPv6 addresses). */
const RESERVED_LISTS = RESERVED.map(([net, prefix, family, kind]) => {
  const list = new BlockList();
  list.addSubnet(net, prefix, family);
  return { list, kind };
});

const familyOf = (address: string) => (isIP(address) === 6 ? "ipv6" : "ipv4");

function reservedKind(address: string): string | undefined {
  return RESERVED_LISTS.find((r) => r.list.check(address, familyOf(address)))?.kind;
}

export class WebhookHosts {
  readonly #names: string[] = [];
  readonly #addresses = new BlockList();
  readonly #restricted: boolean;

  /** `entries`: [notifications] webhook_hosts (empty: any host with public addresses only). */
  constructor(readonly entries: readonly string[] = []) {
    this.#restricted = entries.length > 0;
    for (const raw of entries) {
      const e = raw
        .trim()
        .toLowerCase()
        .replace(/^\[|\]$/g, "");
      const cidr = /^(.+)\/(\d{1,3})$/.exec(e);
      if (cidr && isIP(cidr[1]!)) {
        this.#addresses.addSubnet(cidr[1]!, Number(cidr[2]), familyOf(cidr[1]!));
      } else if (isIP(e)) {
        this.#addresses.addAddress(e, familyOf(e));
      } else if (/^(\*\.)?[a-z0-9.-]+$/.test(e)) {
        this.#names.push(e);
      } else {
        throw new Error(`${SETTING}: "${raw}" is not a host name, "*.domain", an address or a CIDR range`);
      }
    }
  }

  #listedAddress(address: string): boolean {
    return this.#addresses.check(address, familyOf(address));
  }

  #listedName(host: string): boolean {
    return this.#names.some((n) => (n.startsWith("*.") ? host.endsWith(n.slice(1)) : host === n));
  }

  /** Refuses a host the list does not name (when there is a list). */
  checkHost(hostname: string): void {
    const host = hostname.toLowerCase().replace(/^\[|\]$/g, "");
    if (!this.#restricted) return;
    if (isIP(host) ? this.#listedAddress(host) : this.#listedName(host)) return;
    throw new WebhookHostRefused(
      `the webhook host ${host} is not one this node calls: ${SETTING} allows ${this.entries.join(", ")}`,
    );
  }

  /** Refuses an address `host` resolved to that is reserved and not on the list. */
  checkAddress(host: string, address: string): void {
    const kind = reservedKind(address);
    if (!kind || this.#listedAddress(address)) return;
    throw new WebhookHostRefused(
      `the webhook host ${host}${host === address ? "" : ` (${address})`} is a ${kind} address: ` +
        `refused unless ${SETTING} allows it`,
    );
  }

  /** The whole check of a webhook address, as when it is saved: the host, then every address it has now. */
  async check(url: string): Promise<void> {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, "");
    this.checkHost(host);
    const addresses = isIP(host)
      ? [host]
      : await new Promise<string[]>((resolve, reject) =>
          dnsLookup(host, { all: true }, (err, found) =>
            err
              ? reject(new WebhookHostRefused(`the webhook host ${host} cannot be found (DNS: ${err.code})`))
              : resolve(found.map((a) => a.address)),
          ),
        );
    for (const a of addresses) this.checkAddress(host, a);
  }

  /**
   * A `lookup` for the connection itself (http.request): it resolves and refuses a reserved
   * address, so a name that changes its answer after the check (DNS rebinding) gains nothing.
   */
  readonly lookup: LookupFunction = (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, found: LookupAddress[]) => {
      if (err) return callback(err, "", 4);
      try {
        for (const a of found) this.checkAddress(hostname, a.address);
      } catch (refused) {
        return callback(refused as NodeJS.ErrnoException, "", 4);
      }
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, found);
      const first = found[0]!;
      callback(null, first.address, first.family);
    });
  };
}
