/**
 * Another service's answer as `ctx.infer` resolves with it (ServiceResponse), wherever the plugin
 * runs: in the loader's thread (loader/dataplane/pipe.ts) or in a worker thread.
 */
import { AigesError, Codes } from './errors.js';
import { type NumericDatatype, type TensorArrays, tensorOf } from './tensor.js';
import type { DataItem, ServiceResponse } from './types.js';

export class ServiceAnswer implements ServiceResponse {
  constructor(readonly items: readonly DataItem[]) {}

  item(key: string): DataItem {
    const item = this.items.find((i) => i.key === key);
    if (item === undefined) {
      throw new AigesError(Codes.INVALID_OUTPUT, `the answer has no output ${JSON.stringify(key)}`, {
        detail: { key, outputs: this.items.map((i) => i.key) },
      });
    }
    return item;
  }

  tensor<D extends NumericDatatype = NumericDatatype>(key: string, datatype?: D): TensorArrays[D] {
    return tensorOf(this.items, key, datatype);
  }
}
