// Original file: proto/aiges/v1/loader.proto

/**
 * Kind of payload an item carries. Values are AIGes's DataType values.
 */
export const DataType = {
  TEXT: 0,
  AUDIO: 1,
  IMAGE: 2,
  VIDEO: 3,
  OTHER: 4,
} as const;

/**
 * Kind of payload an item carries. Values are AIGes's DataType values.
 */
export type DataType =
  | 'TEXT'
  | 0
  | 'AUDIO'
  | 1
  | 'IMAGE'
  | 2
  | 'VIDEO'
  | 3
  | 'OTHER'
  | 4

/**
 * Kind of payload an item carries. Values are AIGes's DataType values.
 */
export type DataType__Output = typeof DataType[keyof typeof DataType]
