// Live updates: one watcher per node asks its own IllStaffService what changed (every
// POLL_MS, only while a page listens) and tells every open page through server-sent events; the
// page then reloads what it shows. Nodes without ILL at the desk (centers) just keep the stream open.
import type { ServerResponse } from "node:http";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { illServicePb } from "@lrs/shared";
import type { Logger } from "pino";
import type { NodeLink } from "./node-link.js";

export const POLL_MS = 1500;
const KEEPALIVE_MS = 25_000;

export class ChangeFeed {
  readonly #pages = new Set<ServerResponse>();
  #timer: NodeJS.Timeout | undefined;
  #keepalive: NodeJS.Timeout | undefined;
  /** What the requests looked like at the last poll; undefined before the first. */
  #last: string | undefined;
  #polling = false;
  #noIll = false;

  constructor(
    private readonly link: NodeLink,
    private readonly log: Logger,
  ) {}

  /** Opens an event stream on `res` until the page goes away. */
  subscribe(res: ServerResponse): void {
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      connection: "keep-alive",
    });
    res.write("retry: 3000\n\n");
    this.#pages.add(res);
    res.on("close", () => {
      this.#pages.delete(res);
      if (this.#pages.size === 0) this.#stop();
    });
    this.#start();
  }

  #send(event: string, data: unknown): void {
    const text = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const p of this.#pages) p.write(text);
  }

  #start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.#poll(), POLL_MS);
    this.#keepalive = setInterval(() => {
      for (const p of this.#pages) p.write(": keepalive\n\n");
    }, KEEPALIVE_MS);
    void this.#poll();
  }

  #stop(): void {
    // The next page starts from a fresh picture (changes while nobody listened are in its first load).
    this.#last = undefined;
    clearInterval(this.#timer);
    clearInterval(this.#keepalive);
    this.#timer = undefined;
    this.#keepalive = undefined;
  }

  async #poll(): Promise<void> {
    if (this.#polling || this.#noIll) return;
    this.#polling = true;
    try {
      const client = createClient(illServicePb.IllStaffService, this.link.transport());
      const res = await client.listRequests({ limit: 1000 }, { timeoutMs: 10_000 });
      const sig = res.requests
        .map(
          (r) => `${r.id}:${r.status}:${r.attention}:${r.updatedAt?.seconds ?? 0}:${r.updatedAt?.nanos ?? 0}`,
        )
        .join(",");
      if (sig !== this.#last) {
        const first = this.#last === undefined;
        this.#last = sig;
        if (!first) this.#send("ill", { at: new Date().toISOString() });
      }
    } catch (err) {
      if (err instanceof ConnectError && err.code === Code.Unimplemented) this.#noIll = true;
      else this.log.warn({ err }, "live updates: asking the node what changed failed");
    } finally {
      this.#polling = false;
    }
  }

  close(): void {
    this.#stop();
    for (const p of this.#pages) p.end();
    this.#pages.clear();
  }
}
