/**
 * Kafka's RecordBatch v2 ("magic 2"), byte for byte: the unit that producers send, the broker
 * stores on disk and consumers fetch, unchanged along the way. This module is the public face
 * of the format; the bytes are read and written by one file per job:
 *
 *   record-batch-header.ts  the 61-byte header: layout, field accessors and in-place patches
 *                           (baseOffset, partitionLeaderEpoch, producer state, LogAppendTime),
 *                           the 64-bit integer helpers
 *   record-batch-encode.ts  records -> batch (the record layout is documented there)
 *   record-batch-decode.ts  batch -> validated header and records
 *
 * No code outside protocol/ reads or writes batch bytes by position: it calls these.
 */
export * from './record-batch-header.js';
export * from './record-batch-encode.js';
export * from './record-batch-decode.js';
