import { createHmac } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { eventually } from "@strata/kit/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startThrowawayPlatform, type ThrowawayPlatform } from "../src/index.js";
import { strataRunner } from "./support/run-strata.js";

interface Delivery {
  headers: IncomingHttpHeaders;
  body: string;
}

/** What a webhook receiver does with a delivery: recompute the HMAC with the secret it was given. */
function signedWith(secret: string, delivery: Delivery): boolean {
  const header = String(delivery.headers["strata-signature"]);
  const timestamp = /(?:^|,)t=(\d+)/.exec(header)?.[1];
  const expected = createHmac("sha256", secret).update(`${timestamp}.${delivery.body}`).digest("hex");
  return header.split(",").includes(`v1=${expected}`);
}

describe("strata tenants webhook-secret against a real local platform", () => {
  let platform: ThrowawayPlatform;
  let env: Record<string, string>;
  let receiver: Server;
  let receiverUrl: string;
  const deliveries: Delivery[] = [];

  beforeAll(async () => {
    platform = await startThrowawayPlatform({
      prefix: "strata-cli-webhooks-",
      settings: { engineReplicas: 1 },
      overrides: {
        routerHealthIntervalMs: 200,
        engine: { decodeMsPerToken: 1 },
        // The receiver below listens on loopback.
        gateway: { http: { host: "127.0.0.1", port: 0 }, jobs: { webhooks: { allowPrivateNetworks: true } } },
      },
    });
    env = { STRATA_GATEWAY_URL: platform.gatewayUrl, STRATA_ADMIN_TOKEN: platform.adminToken };
    receiver = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        deliveries.push({ headers: request.headers, body: Buffer.concat(chunks).toString("utf8") });
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  }, 60_000);
  afterAll(async () => {
    await new Promise((resolve) => receiver?.close(resolve));
    await platform?.close();
  });

  const { strata, strataJson } = strataRunner(() => env);

  const printedSecret = (stdout: string) => /\n {2}(whsec_\S+)\n/.exec(stdout)?.[1];

  /** Runs a job with a webhook as the tenant and returns the delivery its receiver got. */
  async function deliveredJob(apiKey: string): Promise<Delivery> {
    const submitted = await fetch(`${platform.gatewayUrl}/v1/jobs`, {
      method: "POST",
      headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({
        endpoint: "/v1/chat/completions",
        model: "strata-sim",
        max_tokens: 2,
        messages: [{ role: "user", content: "hi" }],
        webhook_url: receiverUrl,
      }),
    });
    expect(submitted.status).toBe(202);
    const { id } = (await submitted.json()) as { id: string };
    let delivery: Delivery | undefined;
    await eventually(
      () => {
        delivery = deliveries.find((item) => JSON.parse(item.body).data?.id === id);
        expect(delivery).toBeDefined();
      },
      { timeoutMs: 30_000 },
    );
    return delivery!;
  }

  it("shows the secret, rotates it with a grace period during which deliveries carry both signatures", async () => {
    const tenant = await strataJson(["tenants", "create", "webhook-receivers"]);
    const key = await strataJson(["keys", "create", "jobs", "--tenant", tenant.id]);

    const shown = await strata(["tenants", "webhook-secret", tenant.id]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^TENANT\s+ALGORITHM\s+HEADER\s+ROTATED\s+PREVIOUS SIGNS UNTIL\n/);
    expect(shown.stdout).toMatch(
      new RegExp(`\\n${tenant.id}\\s+hmac-sha256\\s+strata-signature\\s+-\\s+-\\n`),
    );
    const original = printedSecret(shown.stdout)!;
    expect(original).toMatch(/^whsec_/);
    expect(await strataJson(["tenants", "webhook-secret", tenant.id])).toMatchObject({
      object: "webhook_secret",
      tenant_id: tenant.id,
      secret: original,
      rotated_at: null,
      previous_secret_expires_at: null,
    });
    expect(signedWith(original, await deliveredJob(key.secret))).toBe(true);

    const rotated = await strata(["tenants", "webhook-secret", tenant.id, "--rotate", "--grace", "1h"]);
    expect(rotated.code).toBe(0);
    const current = printedSecret(rotated.stdout)!;
    expect(current).toMatch(/^whsec_/);
    expect(current).not.toBe(original);
    expect(rotated.stdout).toMatch(/Deliveries are signed with the previous secret too until \d{4}-/);
    const afterRotation = await strataJson(["tenants", "webhook-secret", tenant.id]);
    expect(afterRotation.secret).toBe(current);
    expect(afterRotation.previous_secret_expires_at - afterRotation.rotated_at).toBe(3600);

    // Receivers on either secret accept deliveries made during the grace period.
    const duringGrace = await deliveredJob(key.secret);
    expect(String(duringGrace.headers["strata-signature"]).match(/v1=/g)).toHaveLength(2);
    expect(signedWith(current, duringGrace)).toBe(true);
    expect(signedWith(original, duringGrace)).toBe(true);

    const immediate = await strataJson(["tenants", "webhook-secret", tenant.id, "--rotate", "--grace", "0"]);
    expect(immediate.previous_secret_expires_at).toBeNull();
    const afterwards = await deliveredJob(key.secret);
    expect(signedWith(immediate.secret, afterwards)).toBe(true);
    expect(signedWith(current, afterwards)).toBe(false);

    // Without --grace the gateway's default applies: a day.
    const byDefault = await strata(["tenants", "webhook-secret", tenant.id, "--rotate"]);
    expect(byDefault.code).toBe(0);
    const latest = await strataJson(["tenants", "webhook-secret", tenant.id]);
    expect(latest.previous_secret_expires_at - latest.rotated_at).toBe(86_400);
    expect(byDefault.stdout).toContain(latest.secret);
  }, 120_000);

  it("exits non-zero with a clear message on bad input", async () => {
    expect(await strata(["tenants", "webhook-secret", "ten_missing"])).toMatchObject({
      code: 1,
      stderr: "error: No tenant with id 'ten_missing'. (not_found, HTTP 404)\n",
    });
    const tenant = await strataJson(["tenants", "create", "webhook-mistakes"]);
    const tooLong = await strata(["tenants", "webhook-secret", tenant.id, "--rotate", "--grace", "31d"]);
    expect(tooLong.code).toBe(1);
    expect(tooLong.stderr).toContain("at most 30 days");

    const graceAlone = await strata(["tenants", "webhook-secret", tenant.id, "--grace", "1h"]);
    expect(graceAlone.code).toBe(64);
    expect(graceAlone.stderr).toContain("--grace is only for --rotate");
    expect(graceAlone.stderr).toContain("usage: strata tenants webhook-secret");
    const notADuration = await strata([
      "tenants",
      "webhook-secret",
      tenant.id,
      "--rotate",
      "--grace",
      "soon",
    ]);
    expect(notADuration).toMatchObject({ code: 64 });
    expect(notADuration.stderr).toContain("--grace takes a duration");
    expect((await strata(["tenants", "webhook-secret"])).stderr).toContain("missing the tenant id");
    // None of the refused commands rotated anything.
    expect((await strataJson(["tenants", "webhook-secret", tenant.id])).rotated_at).toBeNull();
  });
});
