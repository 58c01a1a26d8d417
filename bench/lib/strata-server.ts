/**
 * Strata in its own process for `pnpm bench gateway`: the platform as `pnpm start` boots it (gateway,
 * router, PGlite ledger, in-process bus) with one external engine-sim replica as the router's only
 * endpoint, and every step of the request path switched on for a tenant and key made through the
 * admin API: the key is limited to the benchmark's model (authorize), has rate limits and budgets
 * (admit and settle, in-process), the model has a price (cost per request, spend against the
 * budgets), the exact cache looks up every request (temperature 0), and usage goes to the ledger.
 *
 * The parent forks this file (see forkServer) and may ask it to start and stop a CPU profile, or how
 * many usage rows the ledger holds.
 */
import { startThrowawayPlatform, type ThrowawayPlatform } from "@strata/cli";
import { tuneHeapForServing } from "@strata/kit";
import { type ChildServer, serveChild } from "./child-server.js";
import { type CpuProfile, type HeapProfileKind, startCpuProfile, startHeapProfile } from "./profile.js";

export interface StrataStart {
  engineUrl: string;
  model: string;
  /** How the gateway reaches the router: directly (the default, as `pnpm start` runs) or over gRPC. */
  routerTransport?: "in-process" | "grpc";
}

/** Generous enough never to refuse a benchmark request, so each one is checked and charged in full. */
const limits = {
  requests_per_minute: 100_000_000,
  tokens_per_minute: 1_000_000_000,
  concurrent_requests: 10_000,
  daily_budget_usd: 1_000_000,
  daily_soft_budget_usd: 500_000,
  monthly_budget_usd: 10_000_000,
  monthly_soft_budget_usd: 5_000_000,
};

async function boot(start: StrataStart): Promise<ChildServer> {
  // As `strata up` does for the process it runs the platform in.
  tuneHeapForServing();
  const platform = await startThrowawayPlatform({
    prefix: "strata-bench-gateway-",
    settings: { engineReplicas: 0, model: start.model },
    overrides: {
      extraEndpoints: [{ id: "engine-0", url: start.engineUrl, model: start.model }],
      ...(start.routerTransport ? { routerTransport: start.routerTransport } : {}),
      gateway: {
        http: { host: "127.0.0.1", port: 0 },
        pricing: { [start.model]: { input: 0.5, output: 1.5, cachedInput: 0.25 } },
      },
    },
  });
  try {
    const { secret, tenantId } = await benchKey(platform, start.model);
    let profile: CpuProfile | undefined;
    return {
      ready: { url: platform.gatewayUrl, headers: { authorization: `Bearer ${secret}` } },
      async answer(question) {
        if (question.profile === "start") {
          const kind = (question.kind ?? "cpu") as "cpu" | "none" | HeapProfileKind;
          // none: the same window with no profiler attached (the CPU profiler's 200 µs sampling alone
          // changes pauses and latency), for GC traces (BENCH_STRATA_NODE_FLAGS) or an outside profiler
          profile =
            kind === "none"
              ? undefined
              : kind === "cpu"
                ? await startCpuProfile()
                : await startHeapProfile(kind);
          return true;
        }
        if (question.profile === "stop") {
          await profile?.stop(String(question.file));
          profile = undefined;
          return true;
        }
        if (question.memoryUsage) return process.memoryUsage();
        if (question.ledgerRows) {
          const result = await platform.database.query<{ rows: string }>(
            "SELECT count(*)::text AS rows FROM gateway.usage_ledger WHERE tenant_id = $1",
            [tenantId],
          );
          return Number(result.rows[0]?.rows ?? 0);
        }
        throw new Error(`unknown question ${JSON.stringify(question)}`);
      },
      close: () => platform.close(),
    };
  } catch (error) {
    await platform.close();
    throw error;
  }
}

/** A tenant and an API key made the way an operator makes them, with limits and budgets on both. */
async function benchKey(
  platform: ThrowawayPlatform,
  model: string,
): Promise<{ secret: string; tenantId: string }> {
  const admin = async (method: string, path: string, body: unknown) => {
    const response = await fetch(`${platform.gatewayUrl}/admin/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${platform.adminToken}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const json = (await response.json()) as Record<string, unknown>;
    if (!response.ok)
      throw new Error(`${method} ${path} answered ${response.status}: ${JSON.stringify(json)}`);
    return json;
  };
  const tenant = await admin("POST", "/tenants", { name: "bench" });
  const tenantId = String(tenant.id);
  const key = await admin("POST", "/keys", {
    tenant_id: tenantId,
    name: "bench",
    allowed_models: [model],
    metadata: { purpose: "benchmark" },
  });
  await admin("PUT", `/tenants/${tenantId}/limits`, limits);
  await admin("PUT", `/keys/${String(key.id)}/limits`, limits);
  return { secret: String(key.secret), tenantId };
}

serveChild(boot);
