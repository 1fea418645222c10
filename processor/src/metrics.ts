import { createRegistry, prom } from '@logstream/shared/metrics.js';

export function processorMetrics() {
  const registry = createRegistry('processor');
  return {
    registry,
    batchSize: new prom.Histogram({ name: 'logstream_batch_size', help: 'Entries per batch read from the stream', buckets: [1, 10, 50, 100, 250, 500, 1000, 2500, 5000], registers: [registry] }),
    batchBytes: new prom.Histogram({ name: 'logstream_batch_bytes', help: 'Characters of entry data per batch read from the stream (bounded by BATCH_MAX_BYTES, 16 MiB, plus one read of large events)', buckets: [1024, 16384, 262144, 1048576, 4194304, 16777216, 67108864, 268435456], registers: [registry] }),
    insertDuration: new prom.Histogram({ name: 'logstream_insert_duration_seconds', help: 'Duration of one batch insert statement', buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [registry] }),
    rowsStored: new prom.Counter({ name: 'logstream_rows_stored_total', help: 'Rows inserted into PostgreSQL', registers: [registry] }),
    deadLetters: new prom.Counter({ name: 'logstream_dead_letters_total', help: 'Entries moved to the dead-letter stream', registers: [registry] }),
    reclaimed: new prom.Counter({ name: 'logstream_reclaimed_total', help: 'Entries reclaimed from idle consumers (XAUTOCLAIM)', registers: [registry] }),
    streamLength: new prom.Gauge({ name: 'logstream_stream_length', help: 'Entries in the stream (XLEN)', registers: [registry] }),
    groupLag: new prom.Gauge({ name: 'logstream_group_lag', help: 'Entries not yet delivered to the consumer group', registers: [registry] }),
    storageBytes: new prom.Gauge({ name: 'logstream_storage_bytes', help: 'Bytes of every partition of logs (heap, indexes, TOAST; of its copy in logs_packed once packed), as of the last maintenance pass', registers: [registry] }),
    partitions: new prom.Gauge({ name: 'logstream_partitions', help: 'Partitions of logs (including those created ahead of time)', registers: [registry] }),
    partitionsDropped: new prom.Counter({ name: 'logstream_partitions_dropped_total', help: 'Partitions of logs dropped by retention (by this process)', registers: [registry] }),
    partitionsPacked: new prom.Counter({ name: 'logstream_partitions_packed_total', help: 'Closed partitions of logs packed into logs_packed (by this process)', registers: [registry] }),
    groupPending: new prom.Gauge({ name: 'logstream_group_pending', help: 'Entries delivered but not yet acknowledged', registers: [registry] }),
  };
}

export type ProcessorMetrics = ReturnType<typeof processorMetrics>;
