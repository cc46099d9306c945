// libxml2's xmllint (Debian package libxml2-utils) as the validator of what the gateway writes:
// for the *.peers.test.ts files only.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";

let dir: string | undefined;
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** xmllint's verdict on one document against an XML schema: "" when it validates, else its messages. */
export function xmllint(xml: string, schema: string, name: string): string {
  dir ??= mkdtempSync(join(tmpdir(), "lrs-iso18626-"));
  const file = join(dir, `${name}.xml`);
  writeFileSync(file, xml);
  try {
    execFileSync("xmllint", ["--noout", "--nonet", "--schema", schema, file], { stdio: "pipe" });
    return "";
  } catch (err) {
    return String((err as { stderr?: Buffer }).stderr ?? err);
  }
}
