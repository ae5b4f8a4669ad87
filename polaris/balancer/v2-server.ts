/**
 * The server-level methods of the Open Inference Protocol V2 (inference.GRPCInferenceService)
 * answered by the balancer itself, as its grpc.health.v1 is (health.ts): ServerLive (true while it
 * answers), ServerReady (some fronted service has a live instance), ServerMetadata (its own name,
 * version, no extensions). The model methods (ModelInfer, ModelMetadata, ModelReady, ModelConfig,
 * ModelStreamInfer) never reach these handlers: the front forwards them to an instance of the
 * model's service (forward.ts, route.ts). ModelStatistics is neither (UNIMPLEMENTED here): one
 * instance's figures are not the model's.
 */
import type { GRPCInferenceServiceHandlers } from '../../proto/gen/inference/GRPCInferenceService.js';

/** ServerMetadata's name: the balancer, not a loader (which answers "aiges-ts"). */
export const BALANCER_NAME = 'aiges-lb';

export interface ReadyView {
  /** Whether at least one service the balancer fronts has a live instance (false once stopping). */
  ready(): boolean;
}

export type BalancerV2Handlers = Pick<GRPCInferenceServiceHandlers, 'ServerLive' | 'ServerReady' | 'ServerMetadata'>;

export function balancerV2(view: ReadyView, version: string): BalancerV2Handlers {
  return {
    ServerLive: (_call, callback) => callback(null, { live: true }),
    ServerReady: (_call, callback) => callback(null, { ready: view.ready() }),
    ServerMetadata: (_call, callback) => callback(null, { name: BALANCER_NAME, version, extensions: [] }),
  };
}
