/**
 * grpc.health.v1.Health of the balancer itself. Service '' (or aiges.v1.Loader): SERVING while
 * the balancer runs, NOT_SERVING once it stops. A named service: SERVING when it has a live
 * instance, NOT_SERVING when none, NOT_FOUND (Check) or SERVICE_UNKNOWN (Watch) when the balancer
 * does not front it. Watch streams end when the balancer stops, so they never hold its shutdown.
 */
import * as grpc from '@grpc/grpc-js';
import type { HealthHandlers } from '../../proto/gen/grpc/health/v1/Health.js';
import type { HealthCheckResponse } from '../../proto/gen/grpc/health/v1/HealthCheckResponse.js';

type WireStatus = NonNullable<HealthCheckResponse['status']>;

export type ServingStatus = 'SERVING' | 'NOT_SERVING';

export interface HealthView {
  /** Undefined: the balancer does not front `service`. */
  status(service: string): Promise<ServingStatus | undefined>;
  /** Called on any change of any status; `stopped` true once the balancer stops. */
  onChange(listener: (stopped: boolean) => void): () => void;
}

export function balancerHealth(view: HealthView): HealthHandlers {
  return {
    Check(call, callback) {
      view.status(call.request.service).then(
        (status) => {
          if (status === undefined) {
            return callback({ code: grpc.status.NOT_FOUND, details: `unknown service "${call.request.service}"` });
          }
          callback(null, { status });
        },
        (err: unknown) => callback({ code: grpc.status.INTERNAL, details: String(err) }),
      );
    },
    Watch(call) {
      let last: WireStatus | undefined;
      let ended = false;
      const write = (status: WireStatus) => {
        if (ended || status === last) return;
        last = status;
        call.write({ status });
      };
      const send = () =>
        void view.status(call.request.service).then(
          (status) => write(status ?? 'SERVICE_UNKNOWN'),
          () => undefined,
        );
      send();
      const off = view.onChange((stopped) => {
        if (!stopped) return send();
        write('NOT_SERVING');
        ended = true;
        off();
        call.end();
      });
      call.once('cancelled', off);
      call.once('close', off);
    },
  };
}
