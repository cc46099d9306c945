// Small DOM helpers: elements built with text nodes only (names from the directory are never
// parsed as HTML), and how numbers, durations, ages and money read on the dashboard.

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined>;

/** An element with attributes (class, data-*, aria-*, title, style…) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs?: Attrs | null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === null || v === undefined || v === false) continue;
    el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

function append(el: Element, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === "number" ? String(c) : c);
  }
}

/** Replaces an element's children. */
export function fill(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

/**
 * A table: one header row — a column given as text is a plain <th>, one given as an element (a
 * class, a title) is used as it is — and the rows.
 */
export function table(
  attrs: Attrs | null,
  columns: ReadonlyArray<string | HTMLTableCellElement>,
  rows: Child[],
): HTMLTableElement {
  return h(
    "table",
    attrs,
    h("thead", null, h("tr", null, ...columns.map((c) => (typeof c === "string" ? h("th", null, c) : c)))),
    h("tbody", null, ...rows),
  );
}

const intFormat = new Intl.NumberFormat("en", { maximumFractionDigits: 0 });
const compactFormat = new Intl.NumberFormat("en", { notation: "compact", maximumFractionDigits: 1 });

export function fmtInt(n: number | undefined): string {
  if (n === undefined) return "–";
  return Math.abs(n) >= 100_000 ? compactFormat.format(n) : intFormat.format(n);
}

export function fmtRate(n: number): string {
  if (n === 0) return "0";
  return n < 10 ? n.toFixed(n < 1 ? 2 : 1) : intFormat.format(n);
}

/** "850 ms", "1.2 s", "3.5 min", "4.2 h", "2.1 d". */
export function fmtMs(ms: number | undefined | null): string {
  if (ms === undefined || ms === null) return "–";
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${(ms / 60_000).toFixed(1)} min`;
  if (ms < 86_400_000) return `${(ms / 3_600_000).toFixed(1)} h`;
  return `${(ms / 86_400_000).toFixed(1)} d`;
}

export function fmtPct(x: number | undefined): string {
  return x === undefined ? "–" : `${Math.round(x * 100)}%`;
}

/** "just now", "12 s ago", "4 min ago", "3 h ago", "2 d ago". */
export function fmtAgo(iso: string | undefined, now: number): string {
  if (!iso) return "never";
  const ms = now - Date.parse(iso);
  if (ms < 2_000) return "just now";
  if (ms < 60_000) return `${Math.round(ms / 1000)} s ago`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min ago`;
  if (ms < 86_400_000) return `${Math.round(ms / 3_600_000)} h ago`;
  return `${Math.round(ms / 86_400_000)} d ago`;
}

/** "1 h", "24 h", "7 d": a window's length. */
export function fmtSpan(minutes: number): string {
  if (minutes > 2880 && minutes % 1440 === 0) return `${minutes / 1440} d`;
  return minutes % 60 === 0 ? `${minutes / 60} h` : `${minutes} min`;
}

const moneyFormats = new Map<string, Intl.NumberFormat>();

/** An amount in the currency's minor unit, as people write it ("€12.50", "-$3.00"). */
export function fmtMoney(minor: number, currency: string): string {
  let f = moneyFormats.get(currency);
  if (!f) {
    try {
      f = new Intl.NumberFormat("en", { style: "currency", currency });
    } catch {
      f = new Intl.NumberFormat("en", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    }
    moneyFormats.set(currency, f);
  }
  const digits = f.resolvedOptions().maximumFractionDigits ?? 2;
  return f.format(minor / 10 ** digits);
}
