// Original file: proto/aiges/v1/loader.proto


/**
 * The loader's live load, streamed to balancers (see polaris/README.md): sent at once, after
 * every admission change (at most one report per ~20 ms), and at least every second as a
 * heartbeat. A balancer that hears nothing for 3 s ejects the instance.
 */
export interface LoadReport {
  /**
   * Once calls holding a slot.
   */
  'inflight'?: (number);
  /**
   * Open sessions holding a slot.
   */
  'sessions'?: (number);
  /**
   * Once calls plus sessions admitted at a time.
   */
  'capacity'?: (number);
  /**
   * The loader takes new calls (false while starting and draining).
   */
  'ready'?: (boolean);
  /**
   * The id the instance registered under in polaris (empty when it runs standalone).
   */
  'instanceId'?: (string);
}

/**
 * The loader's live load, streamed to balancers (see polaris/README.md): sent at once, after
 * every admission change (at most one report per ~20 ms), and at least every second as a
 * heartbeat. A balancer that hears nothing for 3 s ejects the instance.
 */
export interface LoadReport__Output {
  /**
   * Once calls holding a slot.
   */
  'inflight': (number);
  /**
   * Open sessions holding a slot.
   */
  'sessions': (number);
  /**
   * Once calls plus sessions admitted at a time.
   */
  'capacity': (number);
  /**
   * The loader takes new calls (false while starting and draining).
   */
  'ready': (boolean);
  /**
   * The id the instance registered under in polaris (empty when it runs standalone).
   */
  'instanceId': (string);
}
