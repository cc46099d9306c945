// The chaos harness's steady mix: cross-region loans and article copies (the lenders' automatic
// responder in scenario mode ships or delivers; the harness plays the borrowers' staff: receive,
// return), searches at every scope, and catalog changes at members — all through the nodes'
// own services and CLIs, going on whatever faults are under way.
import { type Client, createClient } from "@connectrpc/connect";
import { ill, illPb, illServicePb, type NodeTransport, searchPb } from "@lrs/shared";
import { type Federation, sleep } from "../federation.js";
import { CHAOS_TERMS, deleteRecord, importTitles, numbersFrom } from "./catalogs.js";

/** Where a request ends, at the borrower or the lender: the state machines' terminal states. */
export const TERMINAL: ReadonlySet<string> = new Set(
  [ill.requesterMachine, ill.supplierMachine].flatMap((m) =>
    Object.entries(m.states as Record<string, { terminal?: boolean }>)
      .filter(([, s]) => s.terminal)
      .map(([name]) => name),
  ),
);

export interface TrafficCounts {
  loansStarted: number;
  loansCompleted: number;
  copiesCompleted: number;
  /** Ended otherwise (end of rota, cancelled): not a failure of the harness, counted apart. */
  loansUnfilled: number;
  borrowFailures: number;
  searches: number;
  searchFailures: number;
  catalogChanges: number;
  catalogFailures: number;
}

interface Loan {
  borrower: string;
  id: string;
  copy: boolean;
  done: boolean;
}

export interface TrafficOptions {
  fed: Federation;
  seed: number;
  /** Members by region. */
  regions: ReadonlyMap<string, readonly string[]>;
  /** isbn → holder, of the titles loans are made of. */
  titles: ReadonlyMap<string, string>;
  /** Where catalog change files are written. */
  dir: string;
  /** Loans (and copies: every fifth) started in all, and how many are under way at once. */
  loans: number;
  concurrency: number;
  searchEveryMs: number;
  catalogEveryMs: number;
  random: () => number;
  /**
   * How long a borrower may stay unreachable (killed and restarting, hung) before a loan it was
   * to make counts as a borrow failure.
   */
  patienceMs: number;
}

export class ChaosTraffic {
  readonly counts: TrafficCounts = {
    loansStarted: 0,
    loansCompleted: 0,
    copiesCompleted: 0,
    loansUnfilled: 0,
    borrowFailures: 0,
    searches: 0,
    searchFailures: 0,
    catalogChanges: 0,
    catalogFailures: 0,
  };
  readonly loans: Loan[] = [];
  /** Why borrows and catalog changes failed (distinct messages, the first few). */
  readonly problems: string[] = [];
  /** When a loan last moved (a state it had not had, or its end): settling is judged by it. */
  lastProgressAt = Date.now();
  /** Records added during the run (member → ids), some deleted again. */
  readonly #churn = new Map<string, string[]>();
  #churnNext = 900_000;
  readonly #o: TrafficOptions;
  readonly #clients = new Map<
    string,
    {
      t: NodeTransport;
      staff: Client<typeof illServicePb.IllStaffService>;
      search: Client<typeof searchPb.SearchService>;
    }
  >();
  #stopSideTraffic = false;

  constructor(o: TrafficOptions) {
    this.#o = o;
  }

  #members(): string[] {
    return [...this.#o.regions.values()].flat();
  }

  #regionOf(member: string): string {
    for (const [r, ms] of this.#o.regions) if (ms.includes(member)) return r;
    return "";
  }

  #client(id: string) {
    let c = this.#clients.get(id);
    if (!c) {
      const t = this.#o.fed.transport(id);
      c = {
        t,
        staff: createClient(illServicePb.IllStaffService, t.transport),
        search: createClient(searchPb.SearchService, t.transport),
      };
      this.#clients.set(id, c);
    }
    return c;
  }

  /** Loan `i`: a borrower of one region, a title held in another; every fifth is an article copy. */
  async #borrow(i: number, giveUp: () => boolean): Promise<Loan | undefined> {
    const members = this.#members();
    const borrower = members[i % members.length]!;
    const region = this.#regionOf(borrower);
    const far = [...this.#o.titles].filter(([, holder]) => this.#regionOf(holder) !== region);
    const [isbn] = far[Math.floor(this.#o.random() * far.length)]!;
    const copy = i % 5 === 4;
    const patronId = `chaos-${this.#o.seed}-${i}`;
    const staff = this.#client(borrower).staff;
    const until = Date.now() + this.#o.patienceMs;
    let why = "";
    for (let attempt = 1; ; attempt++) {
      try {
        const { request } = await staff.borrow(
          {
            itemIds: [{ bibliographicItemIdentifierCode: "ISBN", bibliographicItemIdentifier: isbn }],
            serviceType: copy ? illPb.ServiceType.COPY : illPb.ServiceType.LOAN,
            note: copy ? "scenario:copy" : "scenario:loaned",
            patronId,
            ...(copy ? { pages: "1-10", titleOfComponent: "A chapter" } : {}),
          },
          { timeoutMs: 30_000 },
        );
        if (request) return { borrower, id: request.id, copy, done: false };
        why = "Borrow answered without a request";
      } catch (err) {
        why = (err as Error).message;
        // The borrower may have stored it before it stopped answering: asking again before it has
        // said it has no such request would make a second one (held for staff review as a
        // duplicate of the first, which nobody would follow).
        const stored = await this.#lookUp(borrower, patronId, until);
        if (stored === "unknown") break;
        if (stored) return { borrower, id: stored, copy, done: false };
      }
      if (Date.now() > until || giveUp()) break;
      await sleep(Math.min(1_000 * attempt, 5_000));
    }
    this.counts.borrowFailures++;
    this.#problem(`borrow at ${borrower}: ${why}`);
    return undefined;
  }

  /**
   * The borrower's request for `patronId`: its id, undefined when the borrower says it has none,
   * "unknown" when the borrower did not answer by `until`.
   */
  async #lookUp(borrower: string, patronId: string, until: number): Promise<string | undefined> {
    const staff = this.#client(borrower).staff;
    for (;;) {
      try {
        const mine = await staff.listRequests({ role: "borrower", limit: 1000 }, { timeoutMs: 10_000 });
        return mine.requests.find((x) => x.patronId === patronId)?.id;
      } catch {
        if (Date.now() > until) return "unknown";
        await sleep(2_000);
      }
    }
  }

  #problem(what: string): void {
    const line = what.split("\n")[0]!.slice(0, 300);
    if (this.problems.length < 20 && !this.problems.includes(line)) this.problems.push(line);
  }

  /** Moves a loan on as the borrower's staff would until it ends (or `until` passes). */
  async #follow(loan: Loan, until: () => boolean): Promise<void> {
    const staff = this.#client(loan.borrower).staff;
    let seen = "";
    while (!loan.done && !until()) {
      try {
        const r = (await staff.showRequest({ id: loan.id }, { timeoutMs: 10_000 })).request;
        if (r && r.status !== seen) {
          seen = r.status;
          this.lastProgressAt = Date.now();
        }
        if (r && TERMINAL.has(r.status)) {
          loan.done = true;
          if (r.status === "completed") this.counts.loansCompleted++;
          else if (r.status === "copy_completed") this.counts.copiesCompleted++;
          else this.counts.loansUnfilled++;
          return;
        }
        if (r?.actions.includes("receive"))
          await staff.act({ id: loan.id, action: "receive" }, { timeoutMs: 10_000 });
        else if (r?.actions.includes("return"))
          await staff.act({ id: loan.id, action: "return" }, { timeoutMs: 10_000 });
      } catch {
        // The borrower is down or hung, or the state moved meanwhile: ask again.
      }
      await sleep(400);
    }
  }

  /**
   * Runs the loans (resolves when every loan has ended or `giveUp()` holds), with searches and
   * catalog changes alongside until the loans are all started and `stopSide()` is called.
   */
  async runLoans(giveUp: () => boolean): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < this.#o.loans && !giveUp()) {
        const i = next++;
        const loan = await this.#borrow(i, giveUp);
        if (!loan) continue;
        this.counts.loansStarted++;
        this.loans.push(loan);
        await this.#follow(loan, giveUp);
      }
    };
    await Promise.all(Array.from({ length: this.#o.concurrency }, worker));
  }

  /** Searches and catalog changes until stopSide(). */
  async runSide(): Promise<void> {
    const loop = async (everyMs: number, step: () => Promise<void>) => {
      while (!this.#stopSideTraffic) {
        await sleep(everyMs * (0.5 + this.#o.random()));
        if (!this.#stopSideTraffic) await step();
      }
    };
    await Promise.all([
      loop(this.#o.searchEveryMs, () => this.#search()),
      loop(this.#o.catalogEveryMs, () => this.#catalogChange()),
    ]);
  }

  stopSide(): void {
    this.#stopSideTraffic = true;
  }

  async #search(): Promise<void> {
    const members = this.#members();
    const member = members[Math.floor(this.#o.random() * members.length)]!;
    const r = this.#o.random();
    const scope = r < 0.3 ? searchPb.Scope.LOCAL : r < 0.6 ? searchPb.Scope.REGION : searchPb.Scope.NATIONAL;
    const query = CHAOS_TERMS[Math.floor(this.#o.random() * CHAOS_TERMS.length)]!;
    try {
      for await (const _page of this.#client(member).search.search(
        { query, scope, pageSize: 10 },
        { timeoutMs: 10_000 },
      )) {
        // Every page to the last.
      }
      this.counts.searches++;
    } catch {
      this.counts.searchFailures++;
    }
  }

  /** At a random member: two new records, or one of those added before deleted. */
  async #catalogChange(): Promise<void> {
    const members = this.#members();
    const member = members[Math.floor(this.#o.random() * members.length)]!;
    const mine = this.#churn.get(member) ?? [];
    this.#churn.set(member, mine);
    try {
      if (mine.length > 0 && this.#o.random() < 0.4) {
        const id = mine.splice(Math.floor(this.#o.random() * mine.length), 1)[0]!;
        await deleteRecord(this.#o.fed, member, id);
      } else {
        const first = this.#churnNext;
        this.#churnNext += 2;
        const added = await importTitles(this.#o.fed, member, numbersFrom(first, 2), this.#o.dir, "c", 1);
        mine.push(...added.values());
      }
      this.counts.catalogChanges++;
    } catch (err) {
      this.counts.catalogFailures++;
      this.#problem(`catalog change at ${member}: ${(err as Error).message}`);
    }
  }

  close(): void {
    for (const c of this.#clients.values()) c.t.close();
    this.#clients.clear();
  }
}
