// Everything the gateway writes is checked by a validator nobody here wrote: libxml2's
// xmllint (Debian package libxml2-utils) against the ISO 18626 schema of each version.
import { describe, expect, it } from "vitest";
import { allSamples } from "./xml-samples.test-util.js";
import { writeIso18626 } from "./xml-write.js";
import { xmllint } from "./xmllint.test-util.js";
import { ISO18626_VERSIONS, iso18626SchemaPath } from "./xsd.js";

describe("xmllint validates every kind of message the gateway writes", () => {
  for (const version of ISO18626_VERSIONS)
    it(`against ISO 18626 ${version}`, () => {
      const samples = allSamples();
      samples.forEach((sample, i) => {
        const { xml } = writeIso18626(sample, {
          version,
          ...(sample.case === "request" || sample.case === "requestingAgencyMessage"
            ? { authentication: { accountId: "acct", securityCode: "code" } }
            : {}),
        });
        expect(xmllint(xml, iso18626SchemaPath(version), `${version}-${i}-${sample.case}`), xml).toBe("");
      });
    });

  it("and refuses a message out of order (the check is real)", () => {
    const bad = `<ISO18626Message xmlns="http://illtransactions.org/2013/iso18626" xmlns:ill="http://illtransactions.org/2013/iso18626" ill:version="2021-2"><requestingAgencyMessage><action>Received</action></requestingAgencyMessage></ISO18626Message>`;
    expect(xmllint(bad, iso18626SchemaPath("2021-2"), "bad")).toMatch(/not expected|Missing child/);
  });
});
