import { describe, expect, it } from "vitest";
import { EndpointHealth, type HealthStatus } from "../src/endpoints/endpoint-health.js";
import { testPolicy } from "./support/router-fixture.js";

function tracked() {
  const transitions: [HealthStatus, HealthStatus][] = [];
  const health = new EndpointHealth(testPolicy, (from, to) => transitions.push([from, to]));
  return { health, transitions };
}

describe("EndpointHealth", () => {
  it("starts unknown and becomes healthy on the first passing check", () => {
    const { health, transitions } = tracked();
    expect(health.status).toBe("unknown");
    expect(health.routable).toBe(false);
    health.checkPassed();
    expect(health.routable).toBe(true);
    expect(transitions).toEqual([["unknown", "healthy"]]);
  });

  it("tolerates one failed check and drops the endpoint after N in a row", () => {
    const { health, transitions } = tracked();
    health.checkPassed();
    health.checkFailed("timeout");
    expect(health.status).toBe("healthy");
    health.checkPassed();
    health.checkFailed("timeout");
    expect(health.status).toBe("healthy");
    health.checkFailed("timeout");
    expect(health.status).toBe("unhealthy");
    expect(health.lastError).toBe("timeout");
    health.checkPassed();
    expect(transitions).toEqual([
      ["unknown", "healthy"],
      ["healthy", "unhealthy"],
      ["unhealthy", "healthy"],
    ]);
  });

  it("drops the endpoint after K reported connect errors, and a check brings it back", () => {
    const { health } = tracked();
    health.checkPassed();
    health.connectErrorReported();
    health.connectErrorReported();
    expect(health.status).toBe("healthy");
    health.connectErrorReported();
    expect(health.status).toBe("unhealthy");
    health.checkPassed();
    expect(health.status).toBe("healthy");
    health.connectErrorReported();
    expect(health.status).toBe("healthy");
  });

  it("re-checks at the interval until unhealthy, then backs off exponentially up to the cap", () => {
    const { health } = tracked();
    const delays = [health.nextCheckDelayMs()];
    for (let failure = 0; failure < 7; failure++) {
      health.checkFailed("down");
      delays.push(health.nextCheckDelayMs());
    }
    expect(delays).toEqual([100, 100, 100, 200, 400, 800, 1_000, 1_000]);
    health.checkPassed();
    expect(health.nextCheckDelayMs()).toBe(100);
  });
});
