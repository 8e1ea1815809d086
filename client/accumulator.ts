// Moved: partitionKey lives in topic-partition.ts, the accumulator in producer/accumulator.ts.
export { partitionKey } from './topic-partition.js';
