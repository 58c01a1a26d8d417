import { ConfigError, loadConfig } from "@strata/kit";
import { describe, expect, it } from "vitest";
import { gatewayConfigSchema, gatewayEnv } from "../../src/config.js";
import { addressKind } from "../../src/jobs/ip-address.js";
import { WebhookAddressPolicy } from "../../src/jobs/webhook-address-policy.js";
import { submittedHostRefusal } from "../../src/jobs/webhook-url.js";

describe("address kinds", () => {
  it("tells public addresses from the gateway's own host and networks", () => {
    const cases: [string, string][] = [
      ["8.8.8.8", "public"],
      ["172.32.0.1", "public"],
      ["2606:4700:4700::1111", "public"],
      ["127.0.0.1", "loopback"],
      ["127.255.0.9", "loopback"],
      ["::1", "loopback"],
      ["10.1.2.3", "private"],
      ["172.16.0.1", "private"],
      ["172.31.255.255", "private"],
      ["192.168.1.1", "private"],
      ["100.64.0.1", "shared"],
      ["100.127.255.255", "shared"],
      ["fd12:3456::1", "unique-local"],
      ["fc00::1", "unique-local"],
      ["169.254.169.254", "link-local"],
      ["fe80::1", "link-local"],
      ["fe80::1%eth0", "link-local"],
      ["224.0.0.1", "multicast"],
      ["ff02::1", "multicast"],
      ["0.0.0.0", "unspecified"],
      ["::", "unspecified"],
      ["255.255.255.255", "reserved"],
      ["192.0.2.10", "reserved"],
      ["2001:db8::1", "reserved"],
      ["not an address", "reserved"],
    ];
    for (const [address, kind] of cases) expect(addressKind(address), address).toBe(kind);
  });

  it("sees through IPv6 forms that carry an IPv4 address", () => {
    expect(addressKind("::ffff:127.0.0.1")).toBe("loopback");
    expect(addressKind("::ffff:a9fe:a9fe")).toBe("link-local"); // 169.254.169.254
    expect(addressKind("64:ff9b::10.0.0.1")).toBe("private"); // NAT64
    expect(addressKind("64:ff9b::8.8.8.8")).toBe("public");
    expect(addressKind("2002:7f00:1::1")).toBe("loopback"); // 6to4 of 127.0.0.1
  });
});

describe("WebhookAddressPolicy", () => {
  const policy = (allowPrivateNetworks: boolean, allowedHosts: string[] = []) =>
    new WebhookAddressPolicy({ allowPrivateNetworks, allowedHosts });

  it("refuses every non-public address by default, naming its kind", () => {
    const strict = policy(false);
    expect(strict.refusal("93.184.216.34")).toBeUndefined();
    expect(strict.refusal("127.0.0.1")).toBe("loopback");
    expect(strict.refusal("10.0.0.5")).toBe("private");
    expect(strict.refusal("100.64.3.4")).toBe("shared");
    expect(strict.refusal("fd00::5")).toBe("unique-local");
    expect(strict.refusal("169.254.169.254")).toBe("link-local");
    expect(strict.allowsHost("hooks.internal")).toBe(false);
  });

  it("opens private networks with the switch, but not metadata, multicast or unspecified addresses", () => {
    const open = policy(true);
    for (const address of ["127.0.0.1", "::1", "10.0.0.5", "192.168.0.1", "100.64.3.4", "fd00::5"])
      expect(open.refusal(address), address).toBeUndefined();
    expect(open.refusal("169.254.169.254")).toBe("link-local");
    expect(open.refusal("224.0.0.1")).toBe("multicast");
    expect(open.refusal("0.0.0.0")).toBe("unspecified");
  });

  it("allows listed addresses, networks and host names only", () => {
    const listed = policy(false, ["10.20.0.0/16", "127.0.0.1", "fd00:1::/32", "Hooks.Internal."]);
    expect(listed.refusal("10.20.3.4")).toBeUndefined();
    expect(listed.refusal("10.21.3.4")).toBe("private");
    expect(listed.refusal("127.0.0.1")).toBeUndefined();
    expect(listed.refusal("::ffff:127.0.0.1")).toBeUndefined(); // the same host
    expect(listed.refusal("127.0.0.2")).toBe("loopback");
    expect(listed.refusal("fd00:1:2::3")).toBeUndefined();
    expect(listed.refusal("fd00:2::3")).toBe("unique-local");
    expect(listed.allowsHost("hooks.internal")).toBe(true);
    expect(listed.allowsHost("other.internal")).toBe(false);
  });

  it("refuses private addresses and localhost names at submission, and leaves other names to delivery", () => {
    const strict = policy(false);
    const refused = (url: string) => submittedHostRefusal(strict, new URL(url));
    expect(refused("http://127.0.0.1:8080/hook")).toEqual({ host: "127.0.0.1", kind: "loopback" });
    expect(refused("http://[::1]/hook")).toEqual({ host: "::1", kind: "loopback" });
    expect(refused("http://0x7f.1/hook")).toEqual({ host: "127.0.0.1", kind: "loopback" });
    expect(refused("http://169.254.169.254/latest/meta-data")).toEqual({
      host: "169.254.169.254",
      kind: "link-local",
    });
    expect(refused("http://LOCALHOST./hook")).toEqual({ host: "localhost.", kind: "loopback" });
    expect(refused("http://api.localhost/hook")).toMatchObject({ kind: "loopback" });
    expect(refused("https://hooks.example.com/hook")).toBeUndefined();
    expect(refused("https://8.8.8.8/hook")).toBeUndefined();
    expect(submittedHostRefusal(policy(true), new URL("http://localhost:9000/"))).toBeUndefined();
    expect(submittedHostRefusal(policy(false, ["localhost"]), new URL("http://localhost/"))).toBeUndefined();
  });
});

describe("webhook network settings", () => {
  const base = { GATEWAY_KEY_HASH_SECRET: "test-key-hash-secret-0123456789" };

  it("are refused by default and read from the environment", () => {
    const defaults = loadConfig(gatewayConfigSchema, gatewayEnv, base).jobs.webhooks;
    expect(defaults).toMatchObject({ allowPrivateNetworks: false, allowedHosts: [] });
    const set = loadConfig(gatewayConfigSchema, gatewayEnv, {
      ...base,
      GATEWAY_JOBS_WEBHOOK_ALLOW_PRIVATE_NETWORKS: "true",
      GATEWAY_JOBS_WEBHOOK_ALLOWED_HOSTS: "hooks.internal, 10.0.0.0/8 ,fd00::/8",
    }).jobs.webhooks;
    expect(set).toMatchObject({
      allowPrivateNetworks: true,
      allowedHosts: ["hooks.internal", "10.0.0.0/8", "fd00::/8"],
    });
    const json = loadConfig(gatewayConfigSchema, gatewayEnv, {
      ...base,
      GATEWAY_JOBS_WEBHOOK_ALLOWED_HOSTS: '["127.0.0.1"]',
    }).jobs.webhooks;
    expect(json.allowedHosts).toEqual(["127.0.0.1"]);
  });

  it("name the setting when an entry is neither a host, an address nor a network", () => {
    for (const entry of ["http://hooks.internal/", "10.0.0.0/33", "bad host"]) {
      const load = () =>
        loadConfig(gatewayConfigSchema, gatewayEnv, { ...base, GATEWAY_JOBS_WEBHOOK_ALLOWED_HOSTS: entry });
      expect(load, entry).toThrow(ConfigError);
      expect(load, entry).toThrow(/GATEWAY_JOBS_WEBHOOK_ALLOWED_HOSTS|allowedHosts/);
    }
  });
});
