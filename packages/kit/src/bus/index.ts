export {
  type ConsumerAdvisory,
  type ConsumerAdvisoryKind,
  consumerAdvisorySubject,
  parseConsumerAdvisory,
} from "./advisories.js";
export type { BusLogger } from "./handler-runner.js";
export { createMemoryBus, type MemoryBus, type MemoryBusOptions } from "./memory-bus.js";
export { createNatsBus, type NatsBusOptions } from "./nats-bus.js";
export { matchSubject, subjectsOverlap } from "./subject.js";
export {
  type BroadcastHandler,
  type BroadcastSubscription,
  BUS_DEFAULTS,
  type Bus,
  type BusMessage,
  type BusPayload,
  type ConsumerSpec,
  type MessageHandler,
  type PublishOptions,
  type StoredBusMessage,
  type StreamSpec,
  type Subscription,
} from "./types.js";
