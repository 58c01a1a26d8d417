import type { ServerReady } from "./server-process.js";

export interface ChildServer {
  ready: ServerReady;
  /** Answers the parent's questions (`{ id, ...message }`); absent: every question fails. */
  answer?(message: Record<string, unknown>): Promise<unknown>;
  close(): Promise<void>;
}

/**
 * The child half of forkServer(): waits for `{ start }`, boots, reports `{ ready }`, answers
 * questions, and shuts down cleanly on SIGTERM or when the parent goes away.
 */
export function serveChild<Start>(boot: (start: Start) => Promise<ChildServer>): void {
  const send = (message: unknown) => process.send?.(message);
  process.once("message", (message: { start: Start }) => {
    boot(message.start).then(
      (server) => {
        let stopping = false;
        const stop = () => {
          if (stopping) return;
          stopping = true;
          server.close().finally(() => process.exit(0));
        };
        process.on("SIGTERM", stop);
        process.on("disconnect", stop);
        process.on("message", (question: { id?: number } & Record<string, unknown>) => {
          if (question.id === undefined) return;
          const answering = server.answer
            ? server.answer(question)
            : Promise.reject(new Error("this server answers no questions"));
          answering.then(
            (answer) => send({ id: question.id, answer }),
            (error: unknown) => send({ id: question.id, error: String(error) }),
          );
        });
        send({ ready: server.ready });
      },
      (error: unknown) => {
        send({ error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
        process.exit(1);
      },
    );
  });
}
