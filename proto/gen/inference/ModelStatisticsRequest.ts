// Original file: proto/inference/grpc_service.proto


export interface ModelStatisticsRequest {
  /**
   * Empty: every model.
   */
  'name'?: (string);
  'version'?: (string);
}

export interface ModelStatisticsRequest__Output {
  /**
   * Empty: every model.
   */
  'name': (string);
  'version': (string);
}
