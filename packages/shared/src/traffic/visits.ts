// Reciprocal borrowing in the traffic figures: what visiting readers did in person, counted at
// the visited library (kind "visit": detail "visit", "loan" or "return"; caller the reader's home
// institution, callee the visited library), summed per institution and per region. Lent: loans
// made here to other institutions' readers; borrowed: loans this institution's readers made
// elsewhere; the two give the in-person lend : borrow balance.
import { TRAFFIC_KINDS, type TrafficBlock } from "./cells.js";
import { type Lookup, regionOf } from "./summary.js";

export interface VisitFigure {
  /** An institution id, or a region code in `regions`. */
  id: string;
  region: string;
  /** Credential checks by visiting readers here. */
  visits: number;
  /** Loans to visiting readers here, and loans of own readers elsewhere. */
  lent: number;
  borrowed: number;
  returns: number;
}

export interface VisitFigures {
  institutions: VisitFigure[];
  regions: VisitFigure[];
  visits: number;
  loans: number;
}

export function visitFigures(blocks: readonly TrafficBlock[], lookup: Lookup): VisitFigures {
  const inst = new Map<string, VisitFigure>();
  const reg = new Map<string, VisitFigure>();
  const get = (m: Map<string, VisitFigure>, id: string, region: string) => {
    let f = m.get(id);
    if (!f) {
      f = { id, region, visits: 0, lent: 0, borrowed: 0, returns: 0 };
      m.set(id, f);
    }
    return f;
  };
  let visits = 0;
  let loans = 0;
  for (const b of blocks)
    for (const c of b.cells) {
      if (c.kind !== TRAFFIC_KINDS.visit) continue;
      const hostRegion = regionOf(lookup, c.callee);
      const homeRegion = regionOf(lookup, c.caller);
      const host = get(inst, c.callee, hostRegion);
      const home = get(inst, c.caller, homeRegion);
      const hostR = get(reg, hostRegion, hostRegion);
      const homeR = get(reg, homeRegion, homeRegion);
      if (c.detail === "visit") {
        host.visits += c.count;
        hostR.visits += c.count;
        visits += c.count;
      } else if (c.detail === "loan") {
        host.lent += c.count;
        home.borrowed += c.count;
        hostR.lent += c.count;
        homeR.borrowed += c.count;
        loans += c.count;
      } else if (c.detail === "return") {
        host.returns += c.count;
        hostR.returns += c.count;
      }
    }
  const order = (a: VisitFigure, b: VisitFigure) =>
    b.lent + b.borrowed - (a.lent + a.borrowed) || a.id.localeCompare(b.id);
  return {
    institutions: [...inst.values()].sort(order),
    regions: [...reg.values()].sort(order),
    visits,
    loans,
  };
}
