import { ConfigError, silentLogger } from "@strata/kit";
import { describe, expect, it } from "vitest";
import { loadRouterConfig, run } from "../src/index.js";

describe("Kubernetes discovery configuration", () => {
  it("is off by default and read from ROUTER_KUBERNETES_* variables", () => {
    expect(loadRouterConfig({}).kubernetes).toEqual({
      enabled: false,
      initialSyncTimeoutMs: 10_000,
      retryMaxMs: 30_000,
    });
    const config = loadRouterConfig({
      ROUTER_KUBERNETES_ENABLED: "true",
      ROUTER_KUBERNETES_NAMESPACE: "models",
      ROUTER_KUBERNETES_KUBECONFIG: "/etc/strata/kubeconfig",
      ROUTER_KUBERNETES_INITIAL_SYNC_TIMEOUT_MS: "2500",
    });
    expect(config.kubernetes).toEqual({
      enabled: true,
      namespace: "models",
      kubeconfig: "/etc/strata/kubeconfig",
      initialSyncTimeoutMs: 2_500,
      retryMaxMs: 30_000,
    });
  });

  it("names the variable at fault", () => {
    const load = (env: Record<string, string>) => () => loadRouterConfig(env);
    expect(load({ ROUTER_KUBERNETES_NAMESPACE: "Not_A_Namespace" })).toThrow(ConfigError);
    expect(load({ ROUTER_KUBERNETES_NAMESPACE: "Not_A_Namespace" })).toThrow(
      /ROUTER_KUBERNETES_NAMESPACE.*must be a namespace name or \*/,
    );
    expect(load({ ROUTER_KUBERNETES_ENABLED: "perhaps" })).toThrow(/ROUTER_KUBERNETES_ENABLED/);
  });

  it("stops start-up with the setting to fix when there is no way to reach an API server", async () => {
    const start = (kubernetes: Record<string, unknown>) =>
      run({ grpc: { port: 0 }, ops: { port: 0 }, kubernetes }, { logger: silentLogger() });
    await expect(start({ enabled: true })).rejects.toThrow(
      /kubernetes\.kubeconfig: not set and not running in a cluster/,
    );
    await expect(start({ enabled: true, kubeconfig: "/nonexistent/kubeconfig" })).rejects.toThrow(
      /kubernetes\.kubeconfig \(\/nonexistent\/kubeconfig\): /,
    );
  });
});
