import { Code, ConnectError } from "@connectrpc/connect";
import { CqlParseError } from "../cql/errors.js";
import { SearchAbortedError } from "./pool.js";

/** Turns a bad query into InvalidArgument with its position, a search stopped at its deadline into DeadlineExceeded; the SRU layer maps the same error to a diagnostic. */
export function queryError(err: unknown): never {
  if (err instanceof CqlParseError) throw new ConnectError(err.message, Code.InvalidArgument);
  if (err instanceof SearchAbortedError) throw new ConnectError(err.message, Code.DeadlineExceeded);
  throw err;
}
