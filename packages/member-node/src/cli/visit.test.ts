// The credential's QR code, read back by a QR decoder nobody here wrote (jsQR), as a phone or a
// desk scanner would read it.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { visit } from "@lrs/shared";
import jsQRModule from "jsqr";
import { PNG } from "pngjs";
import { afterAll, describe, expect, it } from "vitest";
import { renderQr } from "./visit.js";

// jsQR is CommonJS: under Node's ESM its function is the module itself, typed as its `default`.
type Decode = typeof jsQRModule.default;
const jsQR: Decode =
  (jsQRModule as unknown as { default?: Decode }).default ?? (jsQRModule as unknown as Decode);

const dir = mkdtempSync(join(tmpdir(), "lrs-qr-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function token(): string {
  const key = visit.generateVisitKey();
  const now = new Date();
  return visit.credentialToken(
    visit.signCredential(
      {
        credentialId: visit.newCredentialId(),
        homeAgencyId: "north-univ",
        readerId: visit.newReaderId(),
        privileges: { maxLoans: 5, materialTypes: ["book", "score"] },
        issuedAt: now,
        expiresAt: new Date(now.getTime() + 30 * 86_400_000),
      },
      key,
    ),
  );
}

describe("the credential's QR code", () => {
  it("decodes, from the PNG, to the signed token", async () => {
    const t = token();
    const file = await renderQr(t, "png", join(dir, "card.png"));
    const png = PNG.sync.read(readFileSync(file));
    const code = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
    expect(code?.data).toBe(t);
  });

  it("is an SVG document, and text for a terminal", async () => {
    const t = token();
    expect(await renderQr(t, "svg")).toMatch(/^<svg[\s\S]*<\/svg>\s*$/);
    expect((await renderQr(t, "terminal")).split("\n").length).toBeGreaterThan(20);
  });
});
