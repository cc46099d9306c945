// A gentle synthetic workload for the demo federation, so that its dashboard is alive on first
// start: members search (every few seconds, at every scope) and borrow from each other (every
// minute or so), through the real services, and then act as their staff would: the lender ships
// (its automatic responder has already said yes), the borrower receives, keeps the book a while
// and returns it, the lender checks it in.
import { type Client, createClient } from "@connectrpc/connect";
import { illPb, illServicePb, type NodeTransport, searchPb } from "@lrs/shared";
import type { Federation } from "./federation.js";

export interface WorkloadOptions {
  /** Members that search and borrow. */
  members: string[];
  /** Mean time between searches (default 3 s) and between new loans (default 45 s). */
  searchEveryMs?: number;
  loanEveryMs?: number;
  /** How long a borrower keeps a book before it returns it (default 40 s). */
  keepMs?: number;
  /** How long a lender takes to ship (default 8 s). */
  shipAfterMs?: number;
  /** Told of loans started and finished. */
  say?: (line: string) => void;
  random?: () => number;
}

/** Words that find something in the demo's sample catalogs. */
const TERMS = [
  "history",
  "music",
  "medicine",
  "law",
  "science",
  "art",
  "water",
  "war",
  "children",
  "health",
  "theory",
  "language",
  "education",
  "america",
  "poetry",
  "economics",
  "public",
  "women",
  "design",
  "church",
];

interface Loan {
  borrower: string;
  id: string;
  title: string;
  /** When the borrower received it (it returns it `keepMs` later). */
  receivedAt?: number;
  /** When the lender was first seen able to ship. */
  shippableAt?: number;
}

interface MemberClients {
  t: NodeTransport;
  search: Client<typeof searchPb.SearchService>;
  staff: Client<typeof illServicePb.IllStaffService>;
}

const FINAL = new Set([
  "completed",
  "copy_completed",
  "completed_without_return",
  "cancelled",
  "end_of_rota",
]);

/** The workload's counts so far. */
export interface WorkloadStats {
  searches: number;
  searchFailures: number;
  loansStarted: number;
  loansCompleted: number;
  loansUnfilled: number;
}

export class DemoWorkload {
  readonly stats: WorkloadStats = {
    searches: 0,
    searchFailures: 0,
    loansStarted: 0,
    loansCompleted: 0,
    loansUnfilled: 0,
  };
  readonly #fed: Federation;
  readonly #o: Required<Omit<WorkloadOptions, "say">> & Pick<WorkloadOptions, "say">;
  readonly #clients = new Map<string, MemberClients>();
  readonly #loans: Loan[] = [];
  #patron = 0;

  constructor(fed: Federation, o: WorkloadOptions) {
    if (o.members.length < 2) throw new Error("the workload needs at least two members");
    this.#fed = fed;
    this.#o = {
      searchEveryMs: 3_000,
      loanEveryMs: 45_000,
      keepMs: 40_000,
      shipAfterMs: 8_000,
      random: Math.random,
      ...o,
    };
  }

  #pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.#o.random() * xs.length)]!;
  }

  /** Around `mean`, between half and one and a half of it. */
  #jitter(mean: number): number {
    return mean * (0.5 + this.#o.random());
  }

  #client(id: string): MemberClients {
    let c = this.#clients.get(id);
    if (!c) {
      const t = this.#fed.transport(id);
      c = {
        t,
        search: createClient(searchPb.SearchService, t.transport),
        staff: createClient(illServicePb.IllStaffService, t.transport),
      };
      this.#clients.set(id, c);
    }
    return c;
  }

  /** One search at a member, to its last page; returns the final page. */
  async search(
    member: string,
    query: string,
    scope: searchPb.Scope,
  ): Promise<searchPb.SearchResponse | undefined> {
    let last: searchPb.SearchResponse | undefined;
    for await (const page of this.#client(member).search.search(
      { query, scope, pageSize: 20 },
      { timeoutMs: 15_000 },
    ))
      last = page;
    return last;
  }

  async #searchOnce(): Promise<void> {
    const r = this.#o.random();
    const scope = r < 0.4 ? searchPb.Scope.LOCAL : r < 0.75 ? searchPb.Scope.REGION : searchPb.Scope.NATIONAL;
    try {
      await this.search(this.#pick(this.#o.members), this.#pick(TERMS), scope);
      this.stats.searches++;
    } catch {
      // A node restarting: the dashboard shows the failure; the workload goes on.
      this.stats.searchFailures++;
    }
  }

  /** Starts a loan of a title another member holds, found by a national search at the borrower. */
  async borrowOnce(): Promise<Loan | undefined> {
    const borrower = this.#pick(this.#o.members);
    const page = await this.search(borrower, this.#pick(TERMS), searchPb.Scope.NATIONAL);
    const candidates = (page?.hits ?? []).filter((hit) =>
      hit.holdings.some((x) => x.institutionId !== borrower && this.#o.members.includes(x.institutionId)),
    );
    if (candidates.length === 0) return undefined;
    const hit = this.#pick(candidates);
    const res = await this.#client(borrower).staff.borrow(
      {
        clusterId: hit.id,
        serviceType: illPb.ServiceType.LOAN,
        patronId: `demo-patron-${++this.#patron}-${Date.now().toString(36)}`,
        note: "demo workload",
      },
      { timeoutMs: 30_000 },
    );
    const request = res.request;
    if (!request) return undefined;
    const loan: Loan = { borrower, id: request.id, title: hit.title || hit.id };
    this.#loans.push(loan);
    this.stats.loansStarted++;
    this.#o.say?.(`workload: ${borrower} asks to borrow "${loan.title.slice(0, 60)}" (${loan.id})`);
    return loan;
  }

  /** Moves every open loan on by what staff would do next; forgets those that ended. */
  async advance(now = Date.now()): Promise<void> {
    for (const loan of [...this.#loans]) {
      try {
        const staff = this.#client(loan.borrower).staff;
        const mine = (await staff.showRequest({ id: loan.id }, { timeoutMs: 10_000 })).request;
        if (!mine) continue;
        if (FINAL.has(mine.status)) {
          this.#loans.splice(this.#loans.indexOf(loan), 1);
          if (mine.status === "completed") this.stats.loansCompleted++;
          else this.stats.loansUnfilled++;
          this.#o.say?.(
            `workload: ${loan.borrower}'s loan ${loan.id} ended ${mine.status.replace(/_/g, " ")}`,
          );
          continue;
        }
        if (mine.actions.includes("receive")) {
          await staff.act({ id: loan.id, action: "receive" }, { timeoutMs: 10_000 });
          loan.receivedAt = now;
          continue;
        }
        if (
          mine.actions.includes("return") &&
          loan.receivedAt !== undefined &&
          now - loan.receivedAt >= this.#o.keepMs
        ) {
          await staff.act({ id: loan.id, action: "return" }, { timeoutMs: 10_000 });
          continue;
        }
        const lender = mine.partner;
        if (!lender || !this.#o.members.includes(lender)) continue;
        const lenderStaff = this.#client(lender).staff;
        const theirs = (
          await lenderStaff.listRequests({ role: "lender" }, { timeoutMs: 10_000 })
        ).requests.find((r) => r.requestingAgencyRequestId.startsWith(`${loan.id}/`) && !FINAL.has(r.status));
        if (!theirs) continue;
        if (theirs.actions.includes("ship")) {
          loan.shippableAt ??= now;
          if (now - loan.shippableAt >= this.#o.shipAfterMs)
            await lenderStaff.act({ id: theirs.id, action: "ship" }, { timeoutMs: 10_000 });
        } else if (theirs.actions.includes("checkin") && theirs.status === "returned") {
          await lenderStaff.act({ id: theirs.id, action: "checkin" }, { timeoutMs: 10_000 });
        }
      } catch {
        // Not now (a node restarting, a state that moved meanwhile): the next round tries again.
      }
    }
  }

  /** Runs until `signal` aborts: searches, new loans, and the loans moved on every few seconds. */
  async run(signal: AbortSignal): Promise<void> {
    const sleep = (ms: number) =>
      new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(t);
          signal.removeEventListener("abort", done);
          resolve();
        };
        const t = setTimeout(done, ms);
        signal.addEventListener("abort", done, { once: true });
      });
    const loop = async (every: () => number, step: () => Promise<unknown>) => {
      while (!signal.aborted) {
        await sleep(every());
        if (signal.aborted) break;
        await step().catch(() => {});
      }
    };
    try {
      await Promise.all([
        loop(
          () => this.#jitter(this.#o.searchEveryMs),
          () => this.#searchOnce(),
        ),
        loop(
          () => this.#jitter(this.#o.loanEveryMs),
          () => this.borrowOnce(),
        ),
        loop(
          () => 3_000,
          () => this.advance(),
        ),
      ]);
    } finally {
      for (const c of this.#clients.values()) c.t.close();
      this.#clients.clear();
    }
  }
}
