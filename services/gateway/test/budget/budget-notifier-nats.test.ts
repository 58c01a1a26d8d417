import { fromBinary } from "@bufbuild/protobuf";
import { type Bus, createNatsBus, silentLogger } from "@strata/kit";
import { eventually, type NatsServerHandle, sleep, startNatsServer } from "@strata/kit/testing";
import { budgetStream, gatewayEventsV1 } from "@strata/proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BudgetLimitReached, BudgetNotifier, processOnce } from "../../src/budget/budget-notifier.js";

describe("budget notices on NATS JetStream", () => {
  let nats: NatsServerHandle;
  let bus: Bus;
  beforeAll(async () => {
    nats = await startNatsServer();
    bus = await createNatsBus({ url: nats.url, name: "budget-test" });
  });
  afterAll(async () => {
    await bus?.close();
    await nats?.stop();
  });

  it("stores one notice per budget and period in the STRATA_BUDGET stream", async () => {
    const notices: gatewayEventsV1.BudgetLimitReached[] = [];
    // Two notifiers: two replicas that both saw the limit reached, without Redis to agree.
    const first = new BudgetNotifier({ bus, once: processOnce, logger: silentLogger() });
    const second = new BudgetNotifier({ bus, once: processOnce, logger: silentLogger() });
    await Promise.all([first.start(), second.start()]);
    await bus.consume({ stream: budgetStream.name, durable: "budget-test" }, async (message) => {
      notices.push(fromBinary(gatewayEventsV1.BudgetLimitReachedSchema, message.data));
    });
    const notice: BudgetLimitReached = {
      tenantId: "ten_n",
      scope: "tenant",
      scopeId: "ten_n",
      period: "month",
      periodStart: "2025-05",
      periodEndMs: Date.UTC(2025, 5, 1),
      limitKind: "hard",
      limitUsd: 10,
      spentUsd: 10.5,
    };
    await first.notify(notice);
    await first.notify({ ...notice, spentUsd: 11 });
    // JetStream drops the other replica's copy: the marker is the message id.
    await second.notify({ ...notice, spentUsd: 12 });
    await second.notify({ ...notice, period: "day", periodStart: "2025-05-31" });
    await eventually(() => expect(notices.map((entry) => entry.period)).toEqual(["month", "day"]));
    expect(notices[0]).toMatchObject({ limitKind: "hard", limitUsd: 10, spentUsd: 10.5 });
    await sleep(300); // nothing more arrives
    expect(notices).toHaveLength(2);
  });
});
