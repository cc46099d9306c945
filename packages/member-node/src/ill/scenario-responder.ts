// The scenario lender: the mock lender of tests, demos and conformance runs against other ILL
// systems (`[ill] auto_respond = "scenario"`). A token in the request's note picks its answer
// ("scenario:loaned", or "scenario:<agency id>=overdue" for one lender of the rota); it then
// plays the lender's part to the end (ships, checks in what comes back, recalls, delivers a
// copy) through the store's actions, as staff would, leaving the scenario on the timeline.
import { illPb, type Logger } from "@lrs/shared";
import { type Applied, IllRefusal } from "./receiver.js";
import type { ActionDetail, IllEvent, IllRequest, IllStore } from "./store.js";

const { ReasonUnfilled } = illPb;

/**
 * The mock lender's answers, by a token in the request's note: `scenario:<name>` for every
 * lender, `scenario:<agency id>=<name>` for one (it wins over the general token).
 */
export const SCENARIOS = [
  "loaned",
  "copy",
  "unfilled",
  "will-supply-then-unfilled",
  "overdue",
  "recalled",
  "conditional",
  "error",
  "no-answer",
] as const;
export type Scenario = (typeof SCENARIOS)[number];

/** How long the "overdue" scenario lends for: its due timer marks the loan overdue right after. */
export const SCENARIO_OVERDUE_LOAN_MS = 2_000;

/** The scenario a note asks of this lender; undefined without a (known) token for it. */
export function scenarioOf(note: string, agencyId?: string): Scenario | undefined {
  let general: string | undefined;
  let own: string | undefined;
  for (const m of note.matchAll(/(?:^|\s)scenario:(?:([a-z0-9-]+)=)?([a-z-]+)(?![a-z0-9=-])/g)) {
    if (m[1] === undefined) general ??= m[2];
    else if (m[1] === agencyId) own ??= m[2];
  }
  const name = own ?? general;
  return SCENARIOS.find((s) => s === name);
}

export interface ScenarioResponderOptions {
  readonly store: IllStore;
  readonly agencyId: string;
  readonly log: Logger;
  readonly now: () => Date;
  /** One action as staff would take it, with the reason on the timeline; false when refused. */
  readonly act: (requestId: string, event: IllEvent, why: string, detail?: ActionDetail) => boolean;
  /** Delivers a copy as `ill upload-copy` would (a generated page); without it only the machine moves on. */
  readonly deliverCopy?: (requestId: string, why: string) => Promise<void>;
}

export class ScenarioResponder {
  readonly #o: ScenarioResponderOptions;

  constructor(opts: ScenarioResponderOptions) {
    this.#o = opts;
  }

  /** Refuses a Request with the token `scenario:error` outright. */
  screen(req: illPb.Request): IllRefusal | undefined {
    if (scenarioOf(req.serviceInfo?.note ?? "", this.#o.agencyId) !== "error") return undefined;
    return new IllRefusal(
      illPb.ErrorType.UNRECOGNISED_DATA_VALUE,
      "scenario:error: the mock lender refuses this request",
    );
  }

  /** Plays the scenario a new lender request names; false when its note names none. */
  async answer(request: IllRequest): Promise<boolean> {
    const scenario = scenarioOf(request.note, this.#o.agencyId);
    if (scenario === undefined) return false;
    const label = `scenario:${scenario}`;
    const act = (event: IllEvent, detail: ActionDetail = {}) => this.#o.act(request.id, event, label, detail);
    switch (scenario) {
      case "loaned":
      case "recalled":
        if (act("respond_yes")) act("ship");
        return true;
      case "overdue":
        if (act("respond_yes"))
          act("ship", { dueDate: new Date(this.#o.now().getTime() + SCENARIO_OVERDUE_LOAN_MS) });
        return true;
      case "copy":
        if (!act("respond_yes")) return true;
        if (this.#o.deliverCopy) await this.#o.deliverCopy(request.id, label);
        else act("deliver_copy");
        return true;
      case "unfilled":
        act("respond_no", { reasonUnfilled: ReasonUnfilled.NOT_ON_SHELF });
        return true;
      case "will-supply-then-unfilled":
        if (act("respond_yes")) act("respond_no", { reasonUnfilled: ReasonUnfilled.NOT_ON_SHELF });
        return true;
      case "conditional":
        act("respond_conditional");
        return true;
      case "error":
      case "no-answer":
        this.#o.log.info({ requestId: request.id, scenario }, "automatic responder: no answer (scenario)");
        return true;
      default: {
        const _never: never = scenario;
        return _never;
      }
    }
  }

  /** After a borrower's message: checks in what comes back, recalls what arrived. */
  followUp(applied: Applied): void {
    if (applied.replayed) return;
    const request = this.#o.store.get(applied.requestId);
    if (request?.role !== "lender") return;
    const scenario = scenarioOf(request.note, this.#o.agencyId);
    if (scenario !== "loaned" && scenario !== "overdue" && scenario !== "recalled") return;
    const label = `scenario:${scenario}`;
    if (applied.event === "shipped_return" && request.state === "returned")
      this.#o.act(request.id, "check_in", label);
    else if (
      applied.event === "received" &&
      scenario === "recalled" &&
      request.state === "received_by_borrower"
    )
      this.#o.act(request.id, "recall", label);
  }
}
