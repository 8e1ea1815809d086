// Moved to producer/producer.ts; kept so existing imports of '../producer.js' compile.
export { Producer } from './producer/producer.js';
