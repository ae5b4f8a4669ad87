// Original file: proto/inference/grpc_service.proto


export interface RepositoryIndexRequest {
  /**
   * The repository's name; empty: every repository (a loader has one).
   */
  'repositoryName'?: (string);
  /**
   * Only the models ready for inference.
   */
  'ready'?: (boolean);
}

export interface RepositoryIndexRequest__Output {
  /**
   * The repository's name; empty: every repository (a loader has one).
   */
  'repositoryName': (string);
  /**
   * Only the models ready for inference.
   */
  'ready': (boolean);
}
