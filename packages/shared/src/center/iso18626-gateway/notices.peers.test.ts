// The messages the gateway writes on its own (broker mode, refusal notices), checked by xmllint
// against the ISO 18626 schema of each version, as the codec's samples are.
import { describe, expect, it } from "vitest";
import { writeIso18626 } from "../../iso18626/xml-write.js";
import { xmllint } from "../../iso18626/xmllint.test-util.js";
import { ISO18626_VERSIONS, iso18626SchemaPath } from "../../iso18626/xsd.js";
import { ownMessages } from "./notices.test-util.js";

describe("xmllint validates the gateway's own messages", () => {
  for (const version of ISO18626_VERSIONS)
    it(`against ISO 18626 ${version}`, () => {
      ownMessages().forEach((env, i) => {
        const { xml } = writeIso18626(
          { case: "supplyingAgencyMessage", value: env.message.value as never },
          { version },
        );
        expect(xmllint(xml, iso18626SchemaPath(version), `own-${version}-${i}`), xml).toBe("");
      });
    });
});
