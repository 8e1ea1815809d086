/**
 * Types shared by the consumer and its group machinery (group/). They live below both so
 * that nothing imports back up: consumer.ts uses group/, group/ uses only this file.
 */

export interface ProcessedOffset {
  topic: string;
  partition: number;
  /** The offset after the last processed message: the next one to read. */
  offset: number;
}

export interface AssignOptions {
  /**
   * Numeric offsets are strict: OFFSET_OUT_OF_RANGE raises instead of resetting per
   * autoOffsetReset. assign() passes true; a group passing committed offsets passes false.
   */
  strictOffsets?: boolean;
}
