// One NCIP call to the library's ILS: the message POSTed as XML, the answer read. Failures are
// told apart as a caller needs them: the ILS could not be reached or answered an HTTP error
// (worth trying again), it answered something that is not NCIP, or it answered with a Problem
// (returned in the answer: the caller decides, since "Unknown Item" is an answer).
import type { NcipConfig } from "@lrs/shared";
import {
  type NcipAnswer,
  type NcipHeader,
  type NcipRequest,
  NcipResponseError,
  readNcip,
  writeNcip,
} from "./messages.js";

/** The ILS could not be reached, timed out, or answered HTTP 5xx/429. */
export class NcipUnavailableError extends Error {
  override readonly name = "NcipUnavailableError";
}

/** The longest answer read (a LookupItem with its bibliographic description is a few KB). */
const MAX_ANSWER_BYTES = 1_000_000;

export class NcipClient {
  readonly #cfg: NcipConfig;
  readonly #header: NcipHeader;

  constructor(cfg: NcipConfig, memberId: string) {
    this.#cfg = cfg;
    this.#header = {
      fromAgencyId: cfg.from_agency_id ?? memberId,
      toAgencyId: cfg.agency_id,
      ...(cfg.authentication ? { authentication: cfg.authentication } : {}),
    };
  }

  /** Whether `[ncip] messages` lets LRS send this one. */
  uses(service: NcipRequest["service"]): boolean {
    return this.#cfg.messages.includes(service);
  }

  /** The ILS patron record of a borrowing library. */
  borrowingLibraryPatron(agencyId: string): string {
    return this.#cfg.borrowing_library_patron.replaceAll("{agency}", agencyId);
  }

  get pickupLocation(): string | undefined {
    return this.#cfg.pickup_location;
  }

  /**
   * Sends one message and reads the answer (a Problem is in the answer).
   *
   * @throws NcipUnavailableError when it is worth trying again later
   * @throws NcipResponseError when the ILS answered something that is not NCIP
   */
  async send(request: NcipRequest, signal?: AbortSignal): Promise<NcipAnswer> {
    const url = this.#cfg.url;
    const timeout = AbortSignal.timeout(this.#cfg.timeout);
    let res: Response;
    try {
      res = await fetch(url, {
        method: "POST",
        body: writeNcip(this.#header, request),
        headers: {
          "content-type": "application/xml; charset=utf-8",
          accept: "application/xml, text/xml",
          ...(this.#cfg.http_authorization ? { authorization: this.#cfg.http_authorization } : {}),
        },
        signal: signal ? AbortSignal.any([timeout, signal]) : timeout,
      });
    } catch (err) {
      if (signal?.aborted) throw err;
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const why = timeout.aborted
        ? `no answer within ${Math.round(this.#cfg.timeout / 1000)} s`
        : (cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err)));
      throw new NcipUnavailableError(`the ILS's NCIP responder ${url} cannot be reached: ${why}`);
    }
    const length = Number(res.headers.get("content-length") ?? "0");
    if (length > MAX_ANSWER_BYTES) {
      await res.body?.cancel();
      throw new NcipResponseError(`the answer is ${length} bytes, over the limit of ${MAX_ANSWER_BYTES}`);
    }
    const body = await res.text().catch((err: unknown) => {
      throw new NcipUnavailableError(`the ILS's answer broke off: ${(err as Error).message}`);
    });
    if (res.status >= 500 || res.status === 429)
      throw new NcipUnavailableError(`the ILS's NCIP responder answered HTTP ${res.status}`);
    if (res.status >= 400 && !body.includes("NCIPMessage"))
      throw new NcipResponseError(
        `the ILS's NCIP responder answered HTTP ${res.status}: ${body.slice(0, 200)}`,
      );
    return readNcip(body, request.service);
  }
}
