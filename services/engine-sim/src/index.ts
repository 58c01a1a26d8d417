/**
 * engine-sim: a vLLM- and TGI-compatible engine simulator with a real prefix-cache model.
 * startEngineSim() boots one replica in-process (the local runner, tests); src/main.ts is the
 * process entry.
 */
import type { AddressInfo } from "node:net";
import { hostname } from "node:os";
import { createLogger, type Logger } from "@strata/kit";
import { Registry } from "prom-client";
import { type EngineSimOptions, type EngineSimOptionsInput, parseEngineSimOptions } from "./config.js";
import { RealTimeDriver } from "./engine/driver.js";
import { FaultInjector } from "./faults/fault-injector.js";
import { OutputPlanner } from "./generation/output-plan.js";
import { compileScript, loadScriptFile } from "./generation/script.js";
import type { EngineContext } from "./http/context.js";
import { createEngineServer } from "./http/server.js";
import { tgiLimits } from "./http/tgi-routes.js";
import { KvEventPublisher } from "./kv-events/publisher.js";
import { registerTgiMetrics } from "./metrics/tgi-metrics.js";
import { registerVllmMetrics } from "./metrics/vllm-metrics.js";
import { EngineModel } from "./model/scheduler.js";
import { combineListeners } from "./model/sequence.js";
import { Tokenizer } from "./model/tokenizer.js";

export interface EngineSim {
  /** Base URL, e.g. http://127.0.0.1:8000 (loopback when bound to every interface). */
  readonly url: string;
  readonly port: number;
  readonly options: EngineSimOptions;
  /** The engine model, for inspection (snapshot(), cache, cachedPrefixTokens()). */
  readonly model: EngineModel;
  readonly tokenizer: Tokenizer;
  /** The KV-event publisher when --kv-events is on: bound ports (port 0 resolved) and topic. */
  readonly kvEvents: KvEventPublisher | undefined;
  /** Injected failures: set() replaces the scripted faults at run time, `applied` counts those used. */
  readonly faults: FaultInjector;
  /** Stops accepting, lets in-flight requests finish (up to shutdownGraceMs), then aborts the rest. */
  close(): Promise<void>;
}

export async function startEngineSim(
  input: EngineSimOptionsInput = {},
  deps: { logger?: Logger } = {},
): Promise<EngineSim> {
  const options = parseEngineSimOptions(input);
  const logger = deps.logger ?? createLogger({ service: "engine-sim", level: options.logLevel });
  const rules = [
    ...(options.script ? await loadScriptFile(options.script) : []),
    ...(options.scriptRules ?? []),
  ];
  const tokenizer = new Tokenizer({ vocabSize: options.vocabSize });
  const planner = new OutputPlanner(tokenizer, {
    rules: compileScript(rules),
    randomMinTokens: options.randomOutputMinTokens,
    randomMaxTokens: options.randomOutputMaxTokens,
  });
  const registry = new Registry();
  const kvEvents = options.kvEvents
    ? await KvEventPublisher.start({
        endpoint: options.kvEventsEndpoint,
        replayEndpoint: options.kvEventsReplayEndpoint,
        topic: options.kvEventsTopic ?? `kv@${hostname()}@${options.model}`,
        bufferSteps: options.kvEventsBufferSteps,
        highWaterMark: options.kvEventsHwm,
        encoding: options.kvEventsEncoding,
      })
    : undefined;
  let driver: RealTimeDriver | undefined;
  let model: EngineModel | undefined;
  const snapshot = () => (model as EngineModel).snapshot();
  const tgi =
    options.api === "tgi"
      ? registerTgiMetrics(registry, tgiLimits({ options } as EngineContext), snapshot)
      : undefined;
  const metricsListener =
    tgi?.listener ??
    registerVllmMetrics(
      registry,
      {
        model: options.model,
        maxModelLen: options.maxModelLen,
        blockSize: options.blockSize,
        kvCapacityBlocks: options.kvCapacityBlocks,
        enablePrefixCaching: options.enablePrefixCaching,
      },
      snapshot,
    );
  model = new EngineModel(
    {
      blockSize: options.blockSize,
      kvCapacityBlocks: options.kvCapacityBlocks,
      maxNumSeqs: options.maxNumSeqs,
      prefillMsPerToken: options.prefillMsPerToken,
      prefillOverheadMs: options.prefillOverheadMs,
      decodeMsPerToken: options.decodeMsPerToken,
      decodeBatchPenalty: options.decodeBatchPenalty,
      enablePrefixCaching: options.enablePrefixCaching,
      hashSeed: options.hashSeed,
    },
    combineListeners(
      metricsListener,
      RealTimeDriver.sinkListener(() => driver as RealTimeDriver),
      kvEvents?.listener() ?? {},
    ),
  );
  driver = new RealTimeDriver(model, options.timeScale);
  const context: EngineContext = {
    options,
    tokenizer,
    planner,
    model,
    driver,
    registry,
    tgi,
    faults: new FaultInjector(options.faults ?? []),
    startedAtSeconds: Math.floor(Date.now() / 1000),
    activeGenerations: 0,
    closing: false,
  };
  const server = createEngineServer(context);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port, options.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    await kvEvents?.close();
    throw error;
  }
  const port = (server.address() as AddressInfo).port;
  const host = options.host === "0.0.0.0" || options.host === "::" ? "127.0.0.1" : options.host;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  logger.info(
    {
      url,
      api: options.api,
      model: options.model,
      kvEvents: kvEvents && { port: kvEvents.port, replayPort: kvEvents.replayPort, topic: kvEvents.topic },
      options: { ...options, scriptRules: rules.length },
    },
    "engine-sim listening",
  );

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      context.closing = true;
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const deadline = Date.now() + options.shutdownGraceMs;
      while (context.activeGenerations > 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      (driver as RealTimeDriver).close();
      server.closeAllConnections();
      await Promise.all([stopped, kvEvents?.close()]);
      logger.info({ url }, "engine-sim stopped");
    })();
    return closing;
  };
  return { url, port, options, model, tokenizer, kvEvents, faults: context.faults, close };
}

export {
  ConfigError,
  type EngineSimOptions,
  type EngineSimOptionsInput,
  engineSimOptionsSchema,
  loadEngineSimOptions,
  parseEngineSimOptions,
} from "./config.js";
export { RealTimeDriver, type SequenceSink } from "./engine/driver.js";
export { type Fault, FaultInjector, type FaultRule, faultRuleSchema } from "./faults/fault-injector.js";
export { OutputPlanner } from "./generation/output-plan.js";
export type { ScriptRule } from "./generation/script.js";
export {
  END_OF_REPLAY,
  type EventBatch,
  encodeEventBatch,
  type KvEvent,
  type KvEventEncoding,
} from "./kv-events/event-batch.js";
export { KvEventPublisher, type KvEventPublisherOptions } from "./kv-events/publisher.js";
export * from "./model/block-hash.js";
export { type ChatMessage, renderChatTemplate } from "./model/chat-template.js";
export { KvCache } from "./model/kv-cache.js";
export {
  DEFAULT_ENGINE_MODEL_CONFIG,
  EngineModel,
  type EngineModelConfig,
  type EngineSnapshot,
} from "./model/scheduler.js";
export type { EngineListener, Sequence, SequenceRequest } from "./model/sequence.js";
export { Tokenizer } from "./model/tokenizer.js";
