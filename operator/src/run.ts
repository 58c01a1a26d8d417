import { KubeConfig } from "@kubernetes/client-node";
import {
  createLogger,
  createMetricsRegistry,
  Lifecycle,
  type Logger,
  parseConfig,
  type Registry,
  redactConfig,
  startOpsServer,
} from "@strata/kit";
import { Autoscaler } from "./autoscaling/autoscaler.js";
import { EngineMetricsLoadSource, type LoadSource } from "./autoscaling/load-source.js";
import { type Clock, systemClock } from "./clock.js";
import {
  defaultIdentity,
  type OperatorConfig,
  type OperatorConfigInput,
  operatorConfigSchema,
} from "./config.js";
import { serviceMonitorDiscovery } from "./kube/api-discovery.js";
import { EventRecorder } from "./kube/event-recorder.js";
import { KubeClient } from "./kube/kube-client.js";
import { LeaderElector } from "./kube/leader-election.js";
import { createOperatorMetrics, type OperatorMetrics } from "./observability/operator-metrics.js";
import { Controller } from "./reconcile/controller.js";

export interface RunDeps {
  /** Credentials to use instead of loading config.kubeconfig (tests pass the test API server's). */
  kubeConfig?: KubeConfig;
  logger?: Logger;
  registry?: Registry;
  clock?: Clock;
  /** Where the autoscaler reads load; by default each ready engine's own /metrics. */
  loadSource?: LoadSource;
}

export interface RunningOperator {
  opsPort: number;
  registry: Registry;
  identity: string;
  /** Whether this replica currently holds the Lease and reconciles. */
  isLeader(): boolean;
  /** Reconciles every ModelDeployment again now (a no-op when nothing changed). */
  resyncAll(): void;
  /** Stops reconciling and, unless told otherwise, hands the Lease to a standby at once. */
  close(options?: { releaseLease?: boolean }): Promise<void>;
}

/**
 * Boots the operator in-process: ops server, then leader election; the controller (informers, queue,
 * workers) runs only while this replica leads. main.ts adds config loading and signal handling.
 */
export async function run(input: OperatorConfigInput, deps: RunDeps = {}): Promise<RunningOperator> {
  const config: OperatorConfig = parseConfig(operatorConfigSchema, input);
  const logger = deps.logger ?? createLogger({ service: "operator", level: config.logLevel });
  const registry = deps.registry ?? createMetricsRegistry("operator");
  const metrics = createOperatorMetrics(registry);
  const clock = deps.clock ?? systemClock;
  const identity = config.leaderElection.identity ?? defaultIdentity();
  const lifecycle = new Lifecycle(logger);
  logger.info({ config: redactConfig(config), identity }, "starting operator");
  const kubeConfig = deps.kubeConfig ?? loadKubeConfig(config);
  const client = new KubeClient(kubeConfig, {
    onResponse: (verb, code) => metrics.kubeRequests.inc({ verb, code: String(code) }),
  });
  lifecycle.add("kube client", () => client.close());
  const loadSource =
    deps.loadSource ?? new EngineMetricsLoadSource({ timeoutMs: config.autoscaling.scrapeTimeoutMs });
  const leadership = new Leadership(config, { client, kubeConfig, logger, metrics, clock, loadSource });
  try {
    const ops = await startOpsServer({ ...config.ops, registries: [registry], logger });
    lifecycle.add("ops server", () => ops.close());
    if (config.leaderElection.enabled) {
      const elector = leadership.elector(identity);
      elector.start();
      lifecycle.add("leader election", () => elector.stop({ release: leadership.releaseOnClose }));
    } else {
      leadership.lead();
      lifecycle.add("controller", () => leadership.follow());
    }
    return {
      opsPort: ops.port,
      registry,
      identity,
      isLeader: () => leadership.leading,
      resyncAll: () => leadership.resyncAll(),
      async close(options = {}) {
        leadership.releaseOnClose = options.releaseLease ?? true;
        await lifecycle.close();
        await leadership.settled();
      },
    };
  } catch (error) {
    await lifecycle.close();
    throw error;
  }
}

function loadKubeConfig(config: OperatorConfig): KubeConfig {
  const kubeConfig = new KubeConfig();
  if (config.kubeconfig) kubeConfig.loadFromFile(config.kubeconfig);
  else kubeConfig.loadFromDefault();
  return kubeConfig;
}

interface LeadershipDeps {
  client: KubeClient;
  kubeConfig: KubeConfig;
  logger: Logger;
  metrics: OperatorMetrics;
  clock: Clock;
  loadSource: LoadSource;
}

/**
 * Starts the controller when this replica becomes leader and stops it when it stops leading. Transitions
 * run one after another, so a quick lose-and-win never runs two controllers side by side.
 */
class Leadership {
  leading = false;
  releaseOnClose = true;
  private controller: Controller | undefined;
  private transitions: Promise<void> = Promise.resolve();
  private stopDiscovery: () => void = () => {};
  private autoscaler: Autoscaler | undefined;

  constructor(
    private readonly config: OperatorConfig,
    private readonly deps: LeadershipDeps,
  ) {}

  elector(identity: string): LeaderElector {
    const election = this.config.leaderElection;
    return new LeaderElector({
      client: this.deps.client,
      namespace: election.namespace,
      name: election.leaseName,
      identity,
      leaseDurationMs: election.leaseDurationSeconds * 1000,
      renewDeadlineMs: election.renewDeadlineSeconds * 1000,
      retryPeriodMs: election.retryPeriodSeconds * 1000,
      logger: this.deps.logger,
      clock: this.deps.clock,
      onStartedLeading: () => this.lead(),
      onStoppedLeading: () => this.follow(),
    });
  }

  lead(): void {
    this.leading = true;
    this.deps.metrics.leader.set(1);
    this.transitions = this.transitions.then(() => this.startWhileLeading());
  }

  follow(): Promise<void> {
    this.leading = false;
    this.deps.metrics.leader.set(0);
    this.transitions = this.transitions
      .then(() => this.stopController())
      .catch((error: unknown) => this.deps.logger.error({ err: error }, "controller did not stop cleanly"));
    return this.transitions;
  }

  resyncAll(): void {
    this.controller?.enqueueAll();
  }

  settled(): Promise<void> {
    return this.transitions;
  }

  /** A controller that cannot start (API server away, CRD not installed yet) is retried while leading. */
  private async startWhileLeading(): Promise<void> {
    for (let attempt = 1; this.leading && !this.controller; attempt++) {
      try {
        await this.startController();
      } catch (error) {
        this.deps.logger.error({ err: error, attempt }, "controller failed to start; retrying");
        await new Promise((resolve) => setTimeout(resolve, Math.min(1000 * 2 ** attempt, 30_000)));
      }
    }
  }

  private async startController(): Promise<void> {
    const { client, kubeConfig, logger, metrics, clock } = this.deps;
    const events = new EventRecorder(client, logger, clock);
    let controller: Controller | undefined;
    const discovery = serviceMonitorDiscovery(client, this.config.discoverySeconds * 1000, logger, () =>
      controller?.enqueueAll(),
    );
    controller = new Controller({
      client,
      kubeConfig,
      namespace: this.config.namespace,
      resyncMs: this.config.resyncSeconds * 1000,
      workers: this.config.workers,
      queue: this.config.queue,
      childOptions: { images: this.config.images },
      events,
      serviceMonitors: discovery,
      metrics,
      logger,
      now: () => new Date(clock.now()).toISOString().replace(/\.\d+Z$/, "Z"),
    });
    try {
      await discovery.start();
      await controller.start();
      this.controller = controller;
      this.stopDiscovery = () => discovery.stop();
      this.autoscaler = this.startAutoscaler(controller, events);
    } catch (error) {
      discovery.stop();
      await controller.stop();
      throw error;
    }
  }

  private startAutoscaler(controller: Controller, events: EventRecorder): Autoscaler | undefined {
    const settings = this.config.autoscaling;
    if (!settings.enabled) return undefined;
    const { client, logger, metrics, clock, loadSource } = this.deps;
    const autoscaler = new Autoscaler({
      modelDeployments: () => controller.modelDeployments.list(),
      client,
      events,
      load: loadSource,
      clock,
      metrics,
      logger,
      intervalMs: settings.syncSeconds * 1000,
    });
    autoscaler.start();
    return autoscaler;
  }

  private async stopController(): Promise<void> {
    const controller = this.controller;
    this.controller = undefined;
    const autoscaler = this.autoscaler;
    this.autoscaler = undefined;
    await autoscaler?.stop();
    this.stopDiscovery();
    await controller?.stop();
  }
}
