/**
 * The load generator, in its own process so its event loop never delays the platform's (or the other
 * way round). It replays a fixed schedule open-loop: every request leaves at its arrival time whether
 * or not earlier ones have answered, streams its answer, and is timed from its scheduled time, so a
 * slow server cannot slow the offered load down (no coordinated omission). The parent sends one
 * ReplayPlan at a time over IPC and gets the ReplayRecords back.
 */
import { Agent, request } from "undici";

export interface ReplayTarget {
  url: string;
  apiKey: string;
}

export interface ReplayRequest {
  id: string;
  /** Milliseconds after the plan's start. */
  atMs: number;
  /** Index into ReplayPlan.targets. */
  target: number;
  /** A streaming chat-completion body. */
  body: string;
}

export interface ReplayPlan {
  /** Wall-clock start (ms since the epoch), so the parent's samplers share the time base. */
  startAtEpochMs: number;
  targets: ReplayTarget[];
  requests: ReplayRequest[];
  timeoutMs: number;
}

export interface ReplayRecord {
  id: string;
  status: number;
  /** How late the request left compared to its schedule. */
  lagMs: number;
  /** Scheduled time to the first streamed content; null when no content arrived. */
  ttftMs: number | null;
  /** When the answer ended, in ms after the plan's start. */
  endMs: number;
  completionTokens: number;
  /** The replica the router chose, from the gateway's x-strata-route header. */
  endpoint: string;
  error?: string;
}

const epochNow = () => performance.timeOrigin + performance.now();

async function replay(plan: ReplayPlan): Promise<ReplayRecord[]> {
  const agent = new Agent({
    keepAliveTimeout: 60_000,
    headersTimeout: plan.timeoutMs,
    bodyTimeout: plan.timeoutMs,
  });
  try {
    const records = plan.requests.map(
      (item) =>
        new Promise<ReplayRecord>((resolve) => {
          const delay = plan.startAtEpochMs + item.atMs - epochNow();
          setTimeout(() => send(agent, plan, item).then(resolve), Math.max(0, delay));
        }),
    );
    return await Promise.all(records);
  } finally {
    await agent.close();
  }
}

async function send(agent: Agent, plan: ReplayPlan, item: ReplayRequest): Promise<ReplayRecord> {
  const scheduled = plan.startAtEpochMs + item.atMs;
  const record: ReplayRecord = {
    id: item.id,
    status: 0,
    lagMs: epochNow() - scheduled,
    ttftMs: null,
    endMs: 0,
    completionTokens: 0,
    endpoint: "",
  };
  const target = plan.targets[item.target] as ReplayTarget;
  try {
    const response = await request(`${target.url}/v1/chat/completions`, {
      method: "POST",
      dispatcher: agent,
      headers: { authorization: `Bearer ${target.apiKey}`, "content-type": "application/json" },
      body: item.body,
      signal: AbortSignal.timeout(plan.timeoutMs),
    });
    record.status = response.statusCode;
    record.endpoint = /endpoint=([^;]*)/.exec(String(response.headers["x-strata-route"] ?? ""))?.[1] ?? "";
    if (response.statusCode !== 200) {
      record.error = (await response.body.text()).slice(0, 300);
    } else {
      await readStream(
        response.body,
        (at) => {
          record.ttftMs ??= at - scheduled;
        },
        record,
      );
    }
  } catch (error) {
    record.error = error instanceof Error ? error.message : String(error);
  }
  record.endMs = epochNow() - plan.startAtEpochMs;
  return record;
}

/** Reads server-sent events: notes the first content delta, the usage chunk and any error event. */
async function readStream(
  body: AsyncIterable<Buffer>,
  onContent: (at: number) => void,
  record: ReplayRecord,
): Promise<void> {
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const chunk of body) {
    buffered += decoder.decode(chunk, { stream: true });
    let end = buffered.indexOf("\n\n");
    while (end >= 0) {
      const event = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      end = buffered.indexOf("\n\n");
      if (!event.startsWith("data: ")) continue;
      const data = event.slice(6);
      if (data === "[DONE]") continue;
      const json = JSON.parse(data) as {
        choices?: { delta?: { content?: string } }[];
        usage?: { completion_tokens?: number };
        error?: { message?: string };
      };
      if (json.choices?.[0]?.delta?.content) onContent(epochNow());
      if (json.usage) record.completionTokens = json.usage.completion_tokens ?? 0;
      if (json.error) record.error = json.error.message ?? data.slice(0, 300);
    }
  }
}

process.on("message", (message: { id: number; plan: ReplayPlan }) => {
  replay(message.plan).then(
    (records) => process.send?.({ id: message.id, records }),
    (error: unknown) => process.send?.({ id: message.id, error: String(error) }),
  );
});
