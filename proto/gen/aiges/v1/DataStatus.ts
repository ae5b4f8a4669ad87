// Original file: proto/aiges/v1/loader.proto

/**
 * Position of an item in a stream. Values are AIGes's DataStatus values.
 */
export const DataStatus = {
  BEGIN: 0,
  CONTINUE: 1,
  END: 2,
  ONCE: 3,
} as const;

/**
 * Position of an item in a stream. Values are AIGes's DataStatus values.
 */
export type DataStatus =
  | 'BEGIN'
  | 0
  | 'CONTINUE'
  | 1
  | 'END'
  | 2
  | 'ONCE'
  | 3

/**
 * Position of an item in a stream. Values are AIGes's DataStatus values.
 */
export type DataStatus__Output = typeof DataStatus[keyof typeof DataStatus]
