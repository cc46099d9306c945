import { type Logger, type LoggerOptions, pino } from "pino";

export type { Logger } from "pino";

export interface LogOptions {
  level?: string;
  /** Pretty, coloured lines for a person; JSON otherwise. Default: pretty when stderr is a terminal. */
  pretty?: boolean;
  /** Written into every line (node id, tier). */
  base?: Record<string, unknown>;
}

let root: Logger | undefined;

const REDACT = ["patron", "*.patron", "patronName", "*.patronName", "body", "*.body", "token", "*.token"];

/** Creates (once per process) the root logger. Logs go to stderr so that CLI output on stdout stays clean. */
export function initLogging(opts: LogOptions = {}): Logger {
  const pretty = opts.pretty ?? process.stderr.isTTY === true;
  const options: LoggerOptions = {
    level: opts.level ?? "info",
    base: opts.base ?? null,
    redact: { paths: REDACT, censor: "[redacted]" },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  root = pretty
    ? pino({
        ...options,
        transport: {
          target: "pino-pretty",
          options: { destination: 2, translateTime: "SYS:HH:MM:ss.l", ignore: "pid,hostname" },
        },
      })
    : pino(options, pino.destination({ dest: 2, sync: true }));
  return root;
}

/** A named child of the root logger: `createLogger("regional:sync")`. */
export function createLogger(name: string): Logger {
  if (!root) root = pino({ level: process.env.LRS_LOG_LEVEL ?? "silent" });
  return root.child({ name });
}
