/** Apache Kafka's wire protocol as data: declarations, the generic codec and frame helpers. */
export * from './schema.js';
export * from './types.js';
export * from './codec.js';
export * from './apis.js';
export * from './frames.js';
