import { expect } from "vitest";

/** Small HTTP helpers for the engine-sim tests (real sockets via fetch). */
export function post(url: string, body: unknown, init: RequestInit = {}): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
    ...init,
  });
}

/** Splits an SSE body into its `data:` payloads (with or without the space after the colon). */
export function sseData(text: string): string[] {
  return text
    .split("\n\n")
    .filter((event) => event.length > 0)
    .map((event) => {
      expect(event.startsWith("data:")).toBe(true);
      return event.slice(5).replace(/^ /, "");
    });
}

/** The value of a Prometheus sample, matching a name and a label subset. */
export function metricValue(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const match = /^([^{\s]+)(\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const labelText = match[2] ?? "";
    if (Object.entries(labels).every(([key, value]) => labelText.includes(`${key}="${value}"`))) {
      return Number(match[3]);
    }
  }
  return undefined;
}

export type JsonBody = any;

export function json(response: Response): Promise<JsonBody> {
  return response.json();
}

export { waitFor } from "@strata/kit/testing";
