import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { systemClock } from '../lib/clock.ts';
import { errorMessage } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import type { Metrics } from '../lib/metrics.ts';
import type { Command } from '../protocols/messages.ts';
import { adminSocketPath, startAdminSocket } from './admin/admin-socket.ts';
import { attachSecretBox, SecretBox } from './auth/secret-box.ts';
import { AmqpUplink } from './broker/amqp-uplink.ts';
import { CENTRAL_MQTT_USER, type RunningBroker, startBroker } from './broker/broker.ts';
import { EmbeddedBrokerUplink } from './broker/embedded-uplink.ts';
import { type GatewayProvisioner, provisionerFor } from './broker/provisioner.ts';
import { CameraService } from './cameras/camera-service.ts';
import { loadOrCreateGrantSigner } from './cameras/grant-signer.ts';
import { type EmbeddedDatabase, startEmbeddedPostgres } from './db/embedded.ts';
import { migrate } from './db/migrate.ts';
import { endPool } from './db/pool.ts';
import { Retention } from './db/retention.ts';
import { DatabaseTarget } from './db/target.ts';
import { TimePartitions } from './db/time-partitions.ts';
import { Dc09Receiver } from './dc09/receiver.ts';
import { CommandAnswers } from './gateway-answers.ts';
import { buildHttpServer, type RateLimits } from './http/server.ts';
import type { EscalationTable } from './incidents/escalation.ts';
import { releaseAwaitingEvents } from './ingest/awaiting-events.ts';
import type { AfterStore } from './ingest/event-store.ts';
import { HeartbeatBook } from './ingest/heartbeat-book.ts';
import { LogEventBatch } from './ingest/log-batch.ts';
import { MqttIngest } from './ingest/mqtt-ingest.ts';
import { Quarantine } from './ingest/quarantine.ts';
import { SequenceWatch } from './ingest/sequence-watch.ts';
import { MqttBrokerUplink, type Uplink } from './ingest/uplink.ts';
import { DEFAULT_LIMITS, type ListenerLimits } from './limits.ts';
import { AlarmFeed } from './live/alarm-feed.ts';
import { CustomerPush, pushFor } from './notify/customer-push.ts';
import { Notifier } from './notify/notifier.ts';
import { recordPushResult } from './notify/push-subscriptions.ts';
import { loadOrCreateVapidKeys, WebPushSender } from './notify/web-push.ts';
import { ProcedureService } from './procedures/service.ts';
import { issueGatewaySecret } from './records.ts';
import { SupervisionLease } from './supervision/lease.ts';
import { superviseOnce } from './supervision/path-supervisor.ts';
import { checkDisarm, isArmingChange, superviseSchedules } from './supervision/schedule-supervisor.ts';
import { isTestReport, onTestReport, superviseTestReports } from './supervision/test-report-supervisor.ts';
import type { TlsMaterial } from './tls/certificates.ts';

export interface CentralOptions {
  /** Where the embedded PostgreSQL keeps its cluster; unused when `databaseUrl` is given. */
  readonly dataDir: string;
  /** An external PostgreSQL; otherwise the embedded one is started. */
  readonly databaseUrl?: string | undefined;
  readonly httpHost: string;
  readonly httpPort: number;
  readonly mqttHost: string;
  readonly mqttPort: number;
  /** MQTT over TLS: key, certificate and the CA that signed it; null: plain TCP (tests only). */
  readonly mqttTls?: TlsMaterial | null;
  /** Use this broker (e.g. mosquitto) instead of the embedded one. */
  readonly externalBroker?: ExternalBroker | undefined;
  /** SMS (SMPP) and e-mail (SMTP) for what the procedures send; without them, operators send by hand. */
  readonly notify?: {
    smppUrl?: string | undefined;
    smsSource?: string | undefined;
    smtpUrl?: string | undefined;
    mailFrom?: string | undefined;
    /** VAPID subject (mailto: or https:) push services may contact; default mailto:<mailFrom>. */
    pushSubject?: string | undefined;
    /** Extra CA for a self-hosted push service. */
    pushCa?: string | undefined;
  };
  readonly dc09Host: string;
  readonly dc09Port: number;
  /** The DC-09 receiver's number (`R…`); without it frames to any receiver number are taken. */
  readonly dc09Receiver?: string | undefined;
  /** A plain DC-09 frame dated outside the window: taken with its age shown (default) or NAKed. */
  readonly dc09PlainOutsideWindow?: 'accept' | 'nak';
  /** The web application over HTTPS (key and certificate), or plain HTTP when null. */
  readonly httpTls?: { readonly key: string; readonly cert: string } | null;
  /** Behind TLS-terminating proxies (addresses/CIDRs): believe their forwarded headers, cookies Secure. */
  readonly trustedProxies?: readonly string[];
  /** The MQTT URL gateways are configured with (installer portal), when the premises reach the
   * broker under another name than the central does (default: the broker's own URL). */
  readonly publicMqttUrl?: string | undefined;
  /** A broker cluster's other nodes, given to installers with it (gateways try them in turn). */
  readonly publicMqttUrls?: readonly string[] | undefined;
  /** The bearer token for /metrics (see http/server.ts). */
  readonly metricsToken?: string | undefined;
  /** Requests per minute per client address (defaults in http/server.ts). */
  readonly rateLimits?: Partial<RateLimits>;
  /** What one client may hold of each listener (default: limits.ts). */
  readonly limits?: ListenerLimits;
  /** How unattended incidents escalate (default: incidents/escalation.ts). */
  readonly escalation?: EscalationTable;
  /** Incidents closed this many months ago are removed (central/db/retention.ts); unset, never. */
  readonly retentionMonths?: number | undefined;
  /** Listen for `vigil central add-…` on `<dataDir>/admin.sock` (default on). */
  readonly adminSocket?: boolean;
  /** How often path supervision runs (default 10 s). */
  readonly supervisionIntervalMs?: number;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

export interface ExternalBroker {
  /** `mosquitto` (one broker, the central subscribes over MQTT; the default) or a `rabbitmq` cluster. */
  readonly kind?: 'mosquitto' | 'rabbitmq' | undefined;
  /** The MQTT URL gateways connect to. */
  readonly url: string;
  readonly centralUsername: string;
  readonly centralPassword: string;
  /** mosquitto dynamic-security / RabbitMQ administrator: lets the central provision gateways. */
  readonly adminUsername?: string | undefined;
  readonly adminPassword?: string | undefined;
  readonly ca?: string | undefined;
  /** RabbitMQ: the nodes' AMQP addresses (amqp[s]://host:port), where the workers consume the uplink. */
  readonly amqpUrls?: readonly string[] | undefined;
  /** RabbitMQ: a node's management API (http[s]://host:port/api), for provisioning. */
  readonly apiUrl?: string | undefined;
}

/**
 * The alarm receiving centre in one process: database, broker, ingest, live feed and HTTP,
 * started in dependency order and stopped in reverse.
 */
export class Central {
  readonly #o: CentralOptions;
  #sequences: SequenceWatch | null = null;
  get #limits(): ListenerLimits {
    return this.#o.limits ?? DEFAULT_LIMITS;
  }
  #embedded: EmbeddedDatabase | null = null;
  #pool: pg.Pool | null = null;
  #broker: RunningBroker | null = null;
  #ingest: MqttIngest | null = null;
  #heartbeats: HeartbeatBook | null = null;
  #lease: SupervisionLease | null = null;
  #bulkPool: pg.Pool | null = null;
  #dc09: Dc09Receiver | null = null;
  #provisioner: GatewayProvisioner | null = null;
  #supervisor: NodeJS.Timeout | null = null;
  #afterStore: AfterStore | undefined;
  readonly #background = new Set<Promise<unknown>>();
  #cameras: CameraService | null = null;
  #timePartitions: TimePartitions | null = null;
  #retention: Retention | null = null;
  #grantKey = '';
  #supervision: Promise<void> = Promise.resolve();
  #procedures: ProcedureService | null = null;
  #notifier: Notifier | null = null;
  #feed: AlarmFeed | null = null;
  #http: FastifyInstance | null = null;
  #admin: { close(): Promise<void> } | null = null;
  #httpUrl = '';
  #stopping = false;

  constructor(options: CentralOptions) {
    this.#o = options;
  }

  get pool(): pg.Pool {
    if (!this.#pool) throw new Error('central is not started');
    return this.#pool;
  }

  get mqttUrl(): string {
    const url = this.#broker?.url ?? this.#o.externalBroker?.url;
    if (!url || !this.#pool) throw new Error('central is not started');
    return url;
  }

  /** Commission a gateway: issue its secret, and on an external broker create its client and role. */
  async issueGatewaySecret(siteId: string, gatewayId: string, actor: string): Promise<string> {
    // A gateway named like one of the broker's own accounts would log in as it, or overwrite its password.
    const external = this.#o.externalBroker;
    const reserved = [CENTRAL_MQTT_USER, external?.centralUsername, external?.adminUsername];
    if (reserved.includes(gatewayId))
      throw new Error(`"${gatewayId}" is reserved for the central's own MQTT account`);
    const secret = await issueGatewaySecret(this.pool, siteId, gatewayId, actor);
    await this.#provisioner?.provisionGateway(siteId, gatewayId, secret);
    return secret;
  }

  #track(work: Promise<unknown>, onError: (error: unknown) => void): void {
    const tracked = work.catch(onError);
    this.#background.add(tracked);
    void tracked.finally(() => this.#background.delete(tracked));
  }

  /** Resolves once the work that follows every event stored so far is done. */
  async settled(): Promise<void> {
    while (this.#background.size > 0) await Promise.all(this.#background);
  }

  /**
   * One pass of every time-driven supervision as of `now`: transmission paths, arming schedules and
   * periodic test reports. Runs every `supervisionIntervalMs`; tests call it with their own clock.
   * A failing part is logged and counted and does not stop the others.
   */
  superviseOnce(now: number): Promise<void> {
    const pass = this.#supervision.then(() => this.#supervisePass(now));
    this.#supervision = pass;
    return pass;
  }

  async #supervisePass(now: number): Promise<void> {
    // Each worker watches the sequence numbers it saw (holes another filled are looked up first).
    try {
      await this.#sequences?.check(now);
    } catch (error) {
      this.#o.metrics.increment('supervision_errors_total', { part: 'checkSequences' });
      this.#o.logger.error({ err: errorMessage(error) }, 'sequence check failed');
    }
    // One node of a cluster runs the rest (a PostgreSQL advisory lock); the others skip it.
    if (this.#lease && !(await this.#lease.hold())) {
      this.#o.metrics.increment('supervision_passes_skipped_total');
      return;
    }
    await this.settled();
    // What was heard up to now is in the database before paths are judged.
    await this.#heartbeats?.flush();
    const pool = this.pool;
    const logger = this.#o.logger.child({ component: 'supervision' });
    const cameras = this.#cameras;
    const purgeMedia = async () => {
      await cameras?.purgeExpired(now);
    };
    const timePartitions = this.#timePartitions;
    const maintainTimePartitions = async () => {
      await timePartitions?.maintain(now);
    };
    const releaseAwaiting = async () => {
      await releaseAwaitingEvents(pool);
    };
    const retention = this.#retention;
    const applyRetention = async () => {
      await retention?.maintain(now);
    };
    const parts = [
      superviseOnce,
      superviseSchedules,
      superviseTestReports,
      purgeMedia,
      maintainTimePartitions,
      releaseAwaiting,
      applyRetention,
    ];
    for (const part of parts) {
      try {
        await part(pool, now, logger, this.#o.metrics, this.#afterStore);
      } catch (error) {
        this.#o.metrics.increment('supervision_errors_total', { part: part.name });
        logger.error({ err: errorMessage(error), part: part.name }, 'supervision pass failed');
      }
    }
  }

  readonly #answers = new CommandAnswers();

  #send(siteId: string, gatewayId: string, command: Command): Promise<void> {
    if (!this.#ingest) throw new Error('ingest is not running');
    return this.#ingest.sendCommand(siteId, gatewayId, command);
  }

  /** How the ingest hears gateways: inside the embedded broker, over MQTT from mosquitto, or RabbitMQ's queue. */
  #uplinkFor(external: ExternalBroker | undefined, logger: Logger, metrics: Metrics): Uplink {
    if (!external) {
      if (!this.#broker) throw new Error('the embedded broker is not started');
      return new EmbeddedBrokerUplink(this.#broker.aedes, logger);
    }
    if (external.kind === 'rabbitmq')
      return new AmqpUplink({ urls: amqpUrlsOf(external), ca: external.ca, logger, metrics });
    return new MqttBrokerUplink({
      url: external.url,
      username: external.centralUsername,
      secret: external.centralPassword,
      ca: external.ca,
      logger,
    });
  }

  /** The camera-grant key gateways are configured with (`central.grantKey`). */
  get grantKey(): string {
    if (!this.#grantKey) throw new Error('central is not started');
    return this.#grantKey;
  }

  /** The CA gateways must trust for the MQTT primary: the external broker's, or the embedded one's (null: none). */
  get mqttCa(): string | null {
    const external = this.#o.externalBroker;
    return external ? (external.ca ?? null) : (this.#o.mqttTls?.ca ?? null);
  }

  get httpUrl(): string {
    return this.#httpUrl;
  }

  get procedures(): ProcedureService {
    if (!this.#procedures) throw new Error('central is not started');
    return this.#procedures;
  }

  get dc09(): Dc09Receiver {
    if (!this.#dc09) throw new Error('central is not started');
    return this.#dc09;
  }

  get ingest(): MqttIngest {
    if (!this.#ingest) throw new Error('central is not started');
    return this.#ingest;
  }

  async start(): Promise<void> {
    const { logger, metrics } = this.#o;
    try {
      let databaseUrl = this.#o.databaseUrl;
      if (!databaseUrl) {
        this.#embedded = await startEmbeddedPostgres(this.#o.dataDir, logger);
        databaseUrl = this.#embedded.url;
      }
      // A multi-host URL (a primary and its standbys): connections go to whichever is the primary.
      const database = new DatabaseTarget(databaseUrl, logger.child({ component: 'database' }), metrics);
      const connect = () => database.client({ keepAlive: true });
      this.#pool = database.pool({ max: 10 });
      attachSecretBox(this.#pool, SecretBox.open(this.#o.dataDir));
      this.#timePartitions = new TimePartitions(
        this.#pool,
        logger.child({ component: 'partitions' }),
        metrics,
      );
      if (this.#o.retentionMonths !== undefined)
        this.#retention = new Retention(
          this.#pool,
          logger.child({ component: 'retention' }),
          metrics,
          this.#o.retentionMonths,
        );
      this.#pool.on('error', (error) =>
        logger.error({ err: error.message }, 'idle database connection failed'),
      );
      await migrate(this.#pool, logger);
      const feed = new AlarmFeed(connect, logger.child({ component: 'feed' }), metrics);
      this.#feed = feed;
      await feed.start();
      const procedures = new ProcedureService({
        pool: this.#pool,
        connect,
        logger: logger.child({ component: 'procedures' }),
        metrics,
        escalation: this.#o.escalation,
        feed,
      });
      this.#procedures = procedures;
      const pool = this.#pool;
      const push = new WebPushSender({
        keys: await loadOrCreateVapidKeys(path.join(this.#o.dataDir, 'push')),
        subject: this.#o.notify?.pushSubject ?? `mailto:${this.#o.notify?.mailFrom ?? 'vigil@localhost'}`,
        ca: this.#o.notify?.pushCa,
      });
      const customerPush = new CustomerPush({
        pool,
        push,
        logger: logger.child({ component: 'push' }),
        metrics,
      });
      this.#notifier = new Notifier({
        ...this.#o.notify,
        push,
        onPushResult: (id, result) => recordPushResult(pool, id, result),
        logger: logger.child({ component: 'notify' }),
        metrics,
        onInboundSms: (from, text) => void procedures.onInboundSms(from, text),
      });
      procedures.useNotifier(this.#notifier);
      this.#notifier.start();
      await procedures.start();
      // The engine hears every committed event; a handling starts only on the event that opened the alarm.
      const supervisionLogger = logger.child({ component: 'supervision' });
      // What follows a committed event runs beside the ingest, not in front of the gateway's next
      // event or its ack: the engine of a site's partition orders its own inputs (queued at call
      // time), and a supervision pass waits for this work first.
      const afterStore: AfterStore = async (event, result) => {
        // The incident the event opened or joined (restores and verifications find theirs in the engine).
        const incident = result.kind === 'stored' ? (result.incident?.id ?? null) : null;
        // A restore or verification that overtook its alarm reaches the engine after the alarm,
        // each once the one before is applied (or posted to the worker running the site).
        const late = result.kind === 'stored' ? (result.lateArrivals ?? []) : [];
        const procedure = (async () => {
          let failure: unknown = null;
          for (const [stored, alarmId] of [
            [event, incident] as const,
            ...late.map((e) => [e, null] as const),
          ]) {
            await procedures.onEventStored(stored, alarmId).catch((error: unknown) => {
              failure ??= error;
            });
          }
          if (failure) throw failure;
        })();
        // A duplicate (stored before) is not told to the phones again. (Most events need none of
        // what follows: decided here, without a promise each.)
        if (result.kind === 'stored' && pushFor(event))
          this.#track(customerPush.onStored(event), (error) => {
            metrics.increment('customer_pushes_total', { result: 'failed' });
            logger.warn({ err: errorMessage(error) }, 'customer push failed');
          });
        const supervised = isTestReport(event) || isArmingChange(event);
        this.#track(
          supervised
            ? procedure.then(async () => {
                await onTestReport(pool, event, afterStore);
                await checkDisarm(pool, event, supervisionLogger, metrics, afterStore);
              })
            : procedure,
          (error) => {
            metrics.increment('supervision_errors_total');
            supervisionLogger.error(
              { err: errorMessage(error), eventId: event.id },
              'supervision of a stored event failed',
            );
          },
        );
      };
      this.#afterStore = afterStore;
      const sequences = new SequenceWatch({
        pool,
        logger: logger.child({ component: 'sequences' }),
        metrics,
        afterStore,
      });
      this.#sequences = sequences;
      const quarantine = new Quarantine({
        pool,
        clock: systemClock,
        logger: logger.child({ component: 'quarantine' }),
        metrics,
        afterStore,
      });

      const external = this.#o.externalBroker;
      if (external) {
        this.#provisioner = await provisionerFor(external, logger);
        await this.#provisioner?.ensureCentral(external.centralUsername, external.centralPassword);
      } else {
        this.#broker = await startBroker({
          host: this.#o.mqttHost,
          port: this.#o.mqttPort,
          pool: this.#pool,
          tls: this.#o.mqttTls ?? null,
          logger: logger.child({ component: 'broker' }),
          metrics,
          limits: this.#limits.mqtt,
        });
      }
      const signer = await loadOrCreateGrantSigner(path.join(this.#o.dataDir, 'grants'));
      this.#grantKey = signer.publicKey;
      const cameras = new CameraService({
        pool,
        signer,
        sendCommand: (siteId, gatewayId, command) => this.#send(siteId, gatewayId, command),
        logger: logger.child({ component: 'cameras' }),
        metrics,
      });
      this.#cameras = cameras;
      // Heartbeats and paths heard: in memory, written once a second on a pool of their own, so
      // alarms never queue behind them for a connection.
      this.#bulkPool = database.pool({ max: 2 });
      this.#bulkPool.on('error', (error) => logger.error({ err: error.message }, 'bulk pool error'));
      const heartbeats = new HeartbeatBook({
        pool: this.#bulkPool,
        logger: logger.child({ component: 'heartbeats' }),
        metrics,
      });
      heartbeats.start();
      this.#heartbeats = heartbeats;
      this.#lease = new SupervisionLease(connect, logger.child({ component: 'lease' }), metrics);
      this.#ingest = new MqttIngest({
        heartbeats,
        logBatch: new LogEventBatch({ pool: this.#pool, metrics }),
        bulkPool: this.#bulkPool,
        uplink: this.#uplinkFor(external, logger.child({ component: 'ingest' }), metrics),
        pool: this.#pool,
        logger: logger.child({ component: 'ingest' }),
        metrics,
        afterStore,
        feed,
        quarantine,
        sequences,
        onMedia: (gateway, media) => cameras.onMedia(gateway, media),
        onStatus: (_gateway, status) => {
          if (status.command) this.#answers.resolve(status.command);
        },
      });
      await this.#ingest.start();
      this.#dc09 = new Dc09Receiver({
        heartbeats,
        host: this.#o.dc09Host,
        port: this.#o.dc09Port,
        pool: this.#pool,
        logger: logger.child({ component: 'dc09' }),
        metrics,
        afterStore,
        feed,
        quarantine,
        sequences,
        limits: this.#limits.dc09,
        receiverNumber: this.#o.dc09Receiver,
        ...(this.#o.dc09PlainOutsideWindow ? { plainOutsideWindow: this.#o.dc09PlainOutsideWindow } : {}),
      });
      await this.#dc09.start();
      this.#supervisor = setInterval(
        () => void this.superviseOnce(Date.now()),
        this.#o.supervisionIntervalMs ?? 10_000,
      );
      this.#supervisor.unref();
      this.#http = await buildHttpServer({
        pool: this.#pool,
        feed: this.#feed,
        logger,
        metrics,
        tls: this.#o.httpTls ?? null,
        trustedProxies: this.#o.trustedProxies ?? [],
        limits: this.#limits.http,
        metricsToken: this.#o.metricsToken,
        onDc09AccountsChanged: () => this.dc09.reloadAccounts(),
        procedures,
        pushPublicKey: push.publicKey,
        gateways: {
          issueSecret: (siteId, gatewayId, actor) => this.issueGatewaySecret(siteId, gatewayId, actor),
          sendCommand: (siteId, gatewayId, command) => this.#send(siteId, gatewayId, command),
          ask: async (siteId, gatewayId, command, timeoutMs) => {
            const answer = this.#answers.wait(command.id, timeoutMs);
            await this.#send(siteId, gatewayId, command);
            return answer;
          },
          connection: () => ({
            // What the premises reach (a public name, a load balancer), not the central's own view.
            mqttUrl: this.#o.publicMqttUrl ?? this.mqttUrl,
            mqttUrls: this.#o.publicMqttUrls ?? [],
            caCert: this.mqttCa,
            grantKey: this.grantKey,
          }),
        },
        ...(this.#o.rateLimits ? { rateLimits: this.#o.rateLimits } : {}),
        cameras,
        readiness: () => ({
          stopping: this.#stopping ? 'the central is stopping' : null,
          broker: this.#ingest?.connected ? null : 'the ingest is not connected to the MQTT broker',
          dc09: this.#dc09 ? null : 'the DC-09 receiver is not listening',
        }),
      });
      const address = await this.#http.listen({ host: this.#o.httpHost, port: this.#o.httpPort });
      if (this.#o.adminSocket ?? true) {
        this.#admin = await startAdminSocket(
          adminSocketPath(this.#o.dataDir),
          {
            pool,
            grantKey: this.grantKey,
            issueGatewaySecret: (siteId, gatewayId, actor) =>
              this.issueGatewaySecret(siteId, gatewayId, actor),
            onDc09AccountsChanged: () => this.dc09.reloadAccounts(),
          },
          logger.child({ component: 'admin' }),
          metrics,
        );
      }
      this.#httpUrl = address.replace('://127.0.0.1', '://localhost');
      logger.info({ http: this.#httpUrl, mqtt: this.mqttUrl, dc09: this.#dc09.port }, 'central started');
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    if (this.#supervisor) clearInterval(this.#supervisor);
    this.#supervisor = null;
    await this.#supervision;
    await this.#lease?.release();
    this.#lease = null;
    await this.#admin?.close();
    this.#admin = null;
    await this.#http?.close();
    this.#cameras?.stop();
    await this.#ingest?.stop();
    await this.#dc09?.stop();
    await this.#heartbeats?.stop();
    this.#heartbeats = null;
    if (this.#bulkPool) await endPool(this.#bulkPool);
    this.#bulkPool = null;
    await this.settled();
    await this.#procedures?.stop();
    await this.#notifier?.stop();
    this.#notifier = null;
    await this.#feed?.stop();
    await this.#broker?.close();
    await this.#provisioner?.close?.();
    this.#provisioner = null;
    if (this.#pool) await endPool(this.#pool);
    await this.#embedded?.stop();
    this.#http = null;
    this.#ingest = null;
    this.#dc09 = null;
    this.#feed = null;
    this.#broker = null;
    this.#pool = null;
    this.#embedded = null;
  }
}

/** The workers' AMQP addresses with the central's credentials in them. */
function amqpUrlsOf(external: ExternalBroker): [string, ...string[]] {
  const urls = (external.amqpUrls ?? []).map((address) => {
    const url = new URL(address);
    url.username = encodeURIComponent(external.centralUsername);
    url.password = encodeURIComponent(external.centralPassword);
    return url.toString();
  });
  if (urls.length === 0) throw new Error('a RabbitMQ broker needs the AMQP URLs of its nodes');
  return urls as [string, ...string[]];
}
