/** Prometheus metrics of a server, served on METRICS_PORT (never on the public port). */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export function createMetrics(instance: string) {
  const registry = new Registry();
  registry.setDefaultLabels({ instance });
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    sockets: new Gauge({
      name: 'prism_connected_sockets',
      help: 'Sockets connected to this server',
      registers: [registry],
    }),
    disconnects: new Counter({
      name: 'prism_socket_disconnects_total',
      help: "Sockets that left this server, by Socket.IO's reason (ping timeout, transport close, ...)",
      labelNames: ['reason'],
      registers: [registry],
    }),
    appended: new Counter({
      name: 'prism_events_appended_total',
      help: 'Events this server appended to review logs',
      labelNames: ['type'],
      registers: [registry],
    }),
    relayed: new Counter({
      name: 'prism_events_relayed_total',
      help: 'Review events this server received from Redis and relayed to its rooms',
      registers: [registry],
    }),
    deliveries: new Counter({
      name: 'prism_event_deliveries_total',
      help: 'Review events emitted to sockets (one per socket)',
      registers: [registry],
    }),
    slowReaders: new Counter({
      name: 'prism_slow_readers_total',
      help: 'Times a socket fell so far behind that its live events were stopped and fed from the log',
      registers: [registry],
    }),
    lagging: new Gauge({
      name: 'prism_slow_readers',
      help: 'Sockets being fed from the log at their own pace right now',
      registers: [registry],
    }),
    queuedMax: new Gauge({
      name: 'prism_socket_queued_frames_max',
      help: 'The most frames waiting to be written to any one socket in a review, at the last look',
      registers: [registry],
    }),
    fedFromLog: new Counter({
      name: 'prism_slow_reader_events_total',
      help: 'Review events sent to slow readers from the log',
      registers: [registry],
    }),
    healed: new Counter({
      name: 'prism_relay_gaps_healed_total',
      help: 'Gaps in a review channel closed by reading the log',
      registers: [registry],
    }),
    ackLatency: new Histogram({
      name: 'prism_ack_latency_seconds',
      help: 'Time from a client event to its ack',
      labelNames: ['event', 'ok'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    eventLag: new Histogram({
      name: 'prism_event_lag_seconds',
      help: 'Time from an event being appended (its `at`) to this server relaying it',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
