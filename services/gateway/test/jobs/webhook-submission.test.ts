import { describe, expect, it } from "vitest";
import { jobsSuite } from "./jobs-harness.js";

interface ErrorBody {
  error: { type: string; code: string; param: string | null; message: string };
}

describe("webhook URLs at job submission", () => {
  const suite = jobsSuite("webhook-submission", { workers: { enabled: false } });

  /** Submits a job with this webhook_url to a gateway configured with `webhooks`; returns the answer. */
  async function submit(webhookUrl: unknown, webhooks: Record<string, unknown> = {}) {
    const running = await suite.start({ webhooks });
    const response = await fetch(`${running.url}/v1/jobs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        endpoint: "/v1/chat/completions",
        model: "sim",
        messages: [{ role: "user", content: "hi" }],
        webhook_url: webhookUrl,
      }),
    });
    return { status: response.status, body: (await response.json()) as ErrorBody & { id?: string } };
  }

  it("refuses a malformed webhook_url with a 400 naming the parameter", async () => {
    const cases: [unknown, RegExp][] = [
      ["ftp://hooks.example.com/x", /must be an http or https URL/],
      ["hooks.example.com/x", /must be an absolute http or https URL/],
      ["https://user:pass@hooks.example.com/x", /must not contain a user name or password/],
      ["https://token@hooks.example.com/x", /must not contain a user name or password/],
      [`https://hooks.example.com/${"a".repeat(2_048)}`, /at most 2048 characters/],
      [42, /must be a string/],
    ];
    for (const [url, message] of cases) {
      const { status, body } = await submit(url);
      expect(status, String(url)).toBe(400);
      expect(body.error).toMatchObject({ type: "invalid_request_error", param: "webhook_url" });
      expect(body.error.message).toMatch(/^Invalid value for 'webhook_url': /);
      expect(body.error.message).toMatch(message);
    }
  });

  it("refuses private addresses and localhost at once unless the configuration allows them", async () => {
    for (const url of [
      "http://127.0.0.1:9/hook",
      "http://[::1]/hook",
      "http://10.0.0.7/hook",
      "http://localhost/",
    ]) {
      const { status, body } = await submit(url);
      expect(status, url).toBe(400);
      expect(body.error.param).toBe("webhook_url");
      expect(body.error.message).toMatch(/is a (loopback|private) address/);
    }
    const metadata = await submit("http://169.254.169.254/latest/meta-data/", { allowPrivateNetworks: true });
    expect(metadata.body.error.message).toMatch(/169\.254\.169\.254 is a link-local address/);

    expect((await submit("http://127.0.0.1:9/hook", { allowPrivateNetworks: true })).status).toBe(202);
    expect((await submit("http://10.0.0.7/hook", { allowedHosts: ["10.0.0.0/8"] })).status).toBe(202);
    // Names other than localhost are judged when the webhook is sent (their addresses can change).
    expect((await submit("https://hooks.example.com/x")).status).toBe(202);
  });

  it("does not give the webhook signing secret to API keys", async () => {
    const running = await suite.start();
    const response = await fetch(`${running.url}/v1/jobs/webhook-secret`);
    const body = (await response.json()) as ErrorBody & { secret?: string };
    expect(response.status).toBe(403);
    expect(body.secret).toBeUndefined();
    expect(body.error.code).toBe("permission_denied");
    expect(body.error.message).toMatch(/admin API/);
  });
});
