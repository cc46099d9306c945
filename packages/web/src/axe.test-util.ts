// axe-core in a page under test (playwright-core): its serious and critical violations, named.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { Page } from "playwright-core";

const AXE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

type Violation = { id: string; impact: string; nodes: Array<{ target: string[] }> };

/** Runs axe-core on the page as it is now; adds each serious or critical violation to `findings`. */
export async function runAxe(page: Page, what: string, findings: string[]): Promise<void> {
  await page.addScriptTag({ content: AXE });
  const violations = (await page.evaluate(async () => {
    const w = globalThis as unknown as { axe: { run(): Promise<{ violations: Violation[] }> } };
    return (await w.axe.run()).violations;
  })) as Violation[];
  for (const v of violations)
    if (v.impact === "serious" || v.impact === "critical")
      findings.push(`${what}: ${v.impact} ${v.id} at ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}
