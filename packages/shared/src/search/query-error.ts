import { Code, ConnectError } from "@connectrpc/connect";
import { CqlParseError } from "../cql/errors.js";

/** Turns a bad query into InvalidArgument with its position; the SRU layer maps the same error to a diagnostic. */
export function queryError(err: unknown): never {
  if (err instanceof CqlParseError) throw new ConnectError(err.message, Code.InvalidArgument);
  throw err;
}
