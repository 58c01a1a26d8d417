import type { Bus, BusMessage, Logger } from "@strata/kit";
import { parseConsumerAdvisory } from "@strata/kit";
import { jobDeadLetterSubject, usageSubject } from "@strata/proto";

/** Headers a dead letter carries about where it came from. */
export const deadLetterHeaders = {
  subject: "Strata-Dead-Subject",
  stream: "Strata-Dead-Stream",
  seq: "Strata-Dead-Seq",
  consumer: "Strata-Dead-Consumer",
  deliveries: "Strata-Dead-Deliveries",
} as const;

const usageSubjects = usageSubject("");

/** Every kind workKind gives: what a dead letter can be about. */
export const deadLetterKinds = ["run", "batch", "webhook", "usage"] as const;

/**
 * The kind of work item a subject carries: "usage" for a usage event (its last token is the tenant),
 * else the work queue subject's last token ("run", "batch", "webhook").
 */
export function workKind(subject: string): string {
  if (subject.startsWith(usageSubjects)) return "usage";
  return subject.slice(subject.lastIndexOf(".") + 1);
}

/**
 * Handles JetStream max-deliveries advisories (kept in the advisory stream): reads the message the
 * consumer gave up on by its stream sequence, stores a copy in the dead-letter stream, then deletes the
 * original from the work queue (where JetStream leaves it). The copy's message id makes a repeat of
 * this step store nothing new; a message already gone was moved before.
 */
export class DeadLetterMover {
  constructor(
    private readonly deps: { bus: Pick<Bus, "getMessage" | "deleteMessage" | "publish">; logger: Logger },
  ) {}

  readonly handle = async (message: BusMessage): Promise<void> => {
    const advisory = parseConsumerAdvisory(message.data);
    if (!advisory) {
      this.deps.logger.warn({ subject: message.subject }, "ignoring a malformed consumer advisory");
      message.term();
      return;
    }
    const { bus } = this.deps;
    const original = await bus.getMessage(advisory.stream, advisory.stream_seq);
    if (!original) return;
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(original.headers))
      if (!/^nats-/i.test(name)) headers[name] = value;
    Object.assign(headers, {
      [deadLetterHeaders.subject]: original.subject,
      [deadLetterHeaders.stream]: advisory.stream,
      [deadLetterHeaders.seq]: String(advisory.stream_seq),
      [deadLetterHeaders.consumer]: advisory.consumer,
      [deadLetterHeaders.deliveries]: String(advisory.deliveries),
    });
    await bus.publish(jobDeadLetterSubject(workKind(original.subject)), original.data, {
      msgId: `dead:${advisory.stream}:${advisory.stream_seq}`,
      headers,
    });
    await bus.deleteMessage(advisory.stream, advisory.stream_seq);
    this.deps.logger.warn(
      { subject: original.subject, deliveries: advisory.deliveries, consumer: advisory.consumer },
      "work item dead-lettered after its last delivery",
    );
  };
}
