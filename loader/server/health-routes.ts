/**
 * The loader's HTTP health routes (the Open Inference Protocol's), named once: the HTTP adapter
 * serves them, AK/SK leaves them open, and the Kubernetes manifests (tools/deploy) probe them.
 */
export const HEALTH_ROUTES = {
  /** 200 while the process serves (listen to exit), else 503: a liveness probe. */
  live: '/v2/health/live',
  /** 200 only while the plugin is initialised and calls are taken, else 503 with the reasons: a readiness probe. */
  ready: '/v2/health/ready',
} as const;
