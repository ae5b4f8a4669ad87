// Original file: proto/aiges/v1/loader.proto


export interface MetadataRequest {
  /**
   * Empty: the loader's only service.
   */
  'service'?: (string);
}

export interface MetadataRequest__Output {
  /**
   * Empty: the loader's only service.
   */
  'service': (string);
}
