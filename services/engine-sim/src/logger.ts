/** A minimal JSON-lines logger (pino-compatible fields) until @strata/kit's logger lands. */
export type LogLevel = "silent" | "error" | "info" | "debug";
const RANK: Record<LogLevel, number> = { silent: 0, error: 1, info: 2, debug: 3 };
const PINO_LEVEL = { error: 50, info: 30, debug: 20 } as const;

export interface Logger {
  error(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  debug(message: string, fields?: Record<string, unknown>): void;
}

export function createLogger(level: LogLevel, name = "engine-sim"): Logger {
  const write =
    (at: keyof typeof PINO_LEVEL) =>
    (message: string, fields: Record<string, unknown> = {}) => {
      if (RANK[at] > RANK[level]) return;
      process.stdout.write(
        `${JSON.stringify({ level: PINO_LEVEL[at], time: Date.now(), name, msg: message, ...fields })}\n`,
      );
    };
  return { error: write("error"), info: write("info"), debug: write("debug") };
}
