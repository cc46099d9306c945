// A TCP proxy in front of a node's listener, for the chaos harness: the addresses other nodes
// dial (a node's advertised address, a member's parent) point at it, and a fault on the link is
// a mode of the proxy. TLS passes through untouched (the proxy sees only bytes).
import { connect, createServer, type Server, type Socket } from "node:net";

/**
 * How the proxy treats the link:
 * - `pass`: bytes flow both ways;
 * - `drop`: new and open connections stall (bytes are held back, nothing is answered): a cable cut
 *   the peers only notice by their deadlines;
 * - `reset`: open connections are reset (TCP RST) and new ones are reset on arrival;
 * - `slow`: every chunk waits `delayMs` before it is passed on.
 */
export type LinkMode = "pass" | "drop" | "reset" | "slow";

interface Pair {
  client: Socket;
  upstream: Socket;
}

export class LinkProxy {
  readonly #target: { host: string; port: number };
  readonly #server: Server;
  readonly #pairs = new Set<Pair>();
  #mode: LinkMode = "pass";
  #delayMs = 0;
  /** Connections accepted, and connections reset by a fault, since the proxy started. */
  readonly stats = { connections: 0, resets: 0 };

  private constructor(target: string) {
    const [host, port] = splitHostPort(target);
    this.#target = { host, port };
    this.#server = createServer({ pauseOnConnect: true }, (client) => this.#accept(client));
  }

  /** Listens on `listen` ("127.0.0.1:port") and forwards to `target`. */
  static async start(listen: string, target: string): Promise<LinkProxy> {
    const p = new LinkProxy(target);
    const [host, port] = splitHostPort(listen);
    await new Promise<void>((resolve, reject) => {
      p.#server.once("error", reject);
      p.#server.listen(port, host, () => {
        p.#server.off("error", reject);
        resolve();
      });
    });
    return p;
  }

  get mode(): LinkMode {
    return this.#mode;
  }

  /** Sets the link's mode; `reset` resets every open connection at once. */
  set(mode: LinkMode, delayMs = 0): void {
    this.#mode = mode;
    this.#delayMs = mode === "slow" ? delayMs : 0;
    if (mode === "reset") for (const p of [...this.#pairs]) this.#reset(p);
    if (mode === "pass" || mode === "slow") for (const p of this.#pairs) this.#flowing(p, true);
    if (mode === "drop") for (const p of this.#pairs) this.#flowing(p, false);
  }

  async close(): Promise<void> {
    for (const p of [...this.#pairs]) this.#reset(p);
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: Socket): void {
    this.stats.connections++;
    if (this.#mode === "reset") {
      this.stats.resets++;
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(this.#target.port, this.#target.host);
    const pair: Pair = { client, upstream };
    this.#pairs.add(pair);
    const end = () => {
      this.#pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
    this.#pipe(client, upstream);
    this.#pipe(upstream, client);
    this.#flowing(pair, this.#mode !== "drop");
  }

  /** Passes `from`'s bytes to `to`, each chunk after the link's delay, keeping their order. */
  #pipe(from: Socket, to: Socket): void {
    let queue = Promise.resolve();
    from.on("data", (chunk: Buffer) => {
      const delay = this.#delayMs;
      if (delay === 0) {
        queue = queue.then(() => {
          if (!to.destroyed) to.write(chunk);
        });
        return;
      }
      queue = queue.then(
        () =>
          new Promise<void>((resolve) =>
            setTimeout(() => {
              if (!to.destroyed) to.write(chunk);
              resolve();
            }, delay),
          ),
      );
    });
    from.on("end", () => {
      void queue.then(() => to.end());
    });
  }

  #flowing(p: Pair, on: boolean): void {
    if (on) {
      p.client.resume();
      p.upstream.resume();
    } else {
      p.client.pause();
      p.upstream.pause();
    }
  }

  #reset(p: Pair): void {
    this.stats.resets++;
    this.#pairs.delete(p);
    p.client.resetAndDestroy();
    p.upstream.resetAndDestroy();
  }
}

function splitHostPort(hp: string): [string, number] {
  const i = hp.lastIndexOf(":");
  return [hp.slice(0, i).replace(/^\[|\]$/g, ""), Number(hp.slice(i + 1))];
}
