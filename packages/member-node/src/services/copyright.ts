// CopyrightService: the copyright rule's counts at this member, for its own CLI
// (`lrs-member ill copyright`).
import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { copyrightPb, costsOf, mapErrors, ValidationError } from "@lrs/shared";
import type { CopyrightCounter } from "../fees/copyright.js";

/** The earliest and latest year asked about (a typo such as 226 is refused, not answered empty). */
const FIRST_YEAR = 1900;
const LAST_YEAR = 9999;

export function copyrightService(
  counter: CopyrightCounter,
  now: () => Date = () => new Date(),
): ServiceImpl<typeof copyrightPb.CopyrightService> {
  return {
    listCopyrightCounts: mapErrors((req: copyrightPb.ListCopyrightCountsRequest) => {
      if (req.year !== 0 && (req.year < FIRST_YEAR || req.year > LAST_YEAR))
        throw new ValidationError(`year: ${req.year} is not a year between ${FIRST_YEAR} and ${LAST_YEAR}`);
      const rule = counter.rule;
      const counts = counter.list(req.year === 0 ? undefined : req.year, now());
      return create(copyrightPb.ListCopyrightCountsResponseSchema, {
        counts: counts.map((c) =>
          create(copyrightPb.CopyrightCountSchema, {
            journalKey: c.journalKey,
            issn: c.issn,
            title: c.title,
            year: c.year,
            count: c.count,
            pending: c.pending,
            limit: rule.maxPerTitle,
            overLimit: c.overLimit,
          }),
        ),
        rule: counter.describe(),
        compliance: rule.compliance,
        limit: rule.maxPerTitle,
        recentYears: rule.recentYears,
        overLimit: rule.overLimit,
        ...(rule.fee ? { fee: costsOf(rule.fee) } : {}),
        keepYears: rule.keepYears,
      });
    }),
  };
}
