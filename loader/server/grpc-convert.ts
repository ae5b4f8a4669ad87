/** Wire ↔ domain conversion for aiges.v1 (no request logic here). */
import type { DataItem as WireItemIn } from '../../proto/gen/aiges/v1/DataItem.js';
import type { DataItem__Output as WireItem } from '../../proto/gen/aiges/v1/DataItem.js';
import type { KeySpec } from '../../proto/gen/aiges/v1/KeySpec.js';
import type { MetadataResponse } from '../../proto/gen/aiges/v1/MetadataResponse.js';
import { AigesError, Codes, named } from '../errors.js';
import { DATA_TYPE_BY_NAME, type DataItem, type DataStatus, type DataType, type ItemSpec } from '../../plugins/types.js';
import type { ServiceMetadata } from '../dataplane/dataplane.js';

export function itemFromWire(w: WireItem): DataItem {
  if (w.type < 0 || w.type > 4 || w.status < 0 || w.status > 3) {
    throw new AigesError(Codes.INVALID_DATA, `item ${named(w.key)} has an unknown type or status value`);
  }
  const item: DataItem = {
    key: w.key,
    type: w.type as DataType,
    status: w.status as DataStatus,
    encoding: w.encoding,
    attributes: w.attributes,
    data: w.data,
  };
  if (w.datatype !== '') item.tensor = { datatype: w.datatype, shape: w.shape };
  return item;
}

export function itemToWire(item: DataItem): WireItemIn {
  const w: WireItemIn = {
    key: item.key,
    type: item.type,
    status: item.status,
    encoding: item.encoding,
    attributes: item.attributes,
    data: item.data,
  };
  if (item.tensor !== undefined) {
    w.datatype = item.tensor.datatype;
    w.shape = item.tensor.shape;
  }
  return w;
}

function keySpecs(items: Readonly<Record<string, ItemSpec>>): KeySpec[] {
  return Object.entries(items).map(([key, spec]) => ({
    key,
    type: DATA_TYPE_BY_NAME[spec.type],
    required: spec.required !== false,
    description: spec.description ?? '',
    encodings: [...(spec.encodings ?? [])],
  }));
}

export function metadataToWire(m: ServiceMetadata): MetadataResponse {
  return {
    service: m.service,
    version: m.version,
    description: m.description,
    inputs: keySpecs(m.inputs),
    outputs: keySpecs(m.outputs),
    paramsSchemaJson: JSON.stringify(m.paramsSchema),
    supportsOnce: m.supportsOnce,
    supportsSession: m.supportsSession,
    capacity: m.capacity,
  };
}
