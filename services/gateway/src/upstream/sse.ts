/**
 * Splits a server-sent-events byte stream into the `data` payloads of its events, as they complete.
 * Engines end events with a blank line; comments and other fields are skipped.
 */
export async function* sseData(body: AsyncIterable<Buffer | string>): AsyncGenerator<string> {
  let pending = "";
  for await (const chunk of body) {
    pending += typeof chunk === "string" ? chunk : chunk.toString("utf8");
    let end = pending.indexOf("\n\n");
    while (end !== -1) {
      const data = eventData(pending.slice(0, end));
      if (data !== undefined) yield data;
      pending = pending.slice(end + 2);
      end = pending.indexOf("\n\n");
    }
  }
  const data = eventData(pending);
  if (data !== undefined) yield data;
}

function eventData(event: string): string | undefined {
  let data: string | undefined;
  for (const rawLine of event.split("\n")) {
    const line = rawLine.endsWith("\r") ? rawLine.slice(0, -1) : rawLine;
    if (!line.startsWith("data:")) continue;
    const value = line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5);
    data = data === undefined ? value : `${data}\n${value}`;
  }
  return data;
}
