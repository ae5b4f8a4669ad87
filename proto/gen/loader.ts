import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { DataItem as _aiges_v1_DataItem, DataItem__Output as _aiges_v1_DataItem__Output } from './aiges/v1/DataItem.js';
import type { InferRequest as _aiges_v1_InferRequest, InferRequest__Output as _aiges_v1_InferRequest__Output } from './aiges/v1/InferRequest.js';
import type { InferResponse as _aiges_v1_InferResponse, InferResponse__Output as _aiges_v1_InferResponse__Output } from './aiges/v1/InferResponse.js';
import type { KeySpec as _aiges_v1_KeySpec, KeySpec__Output as _aiges_v1_KeySpec__Output } from './aiges/v1/KeySpec.js';
import type { LoadReport as _aiges_v1_LoadReport, LoadReport__Output as _aiges_v1_LoadReport__Output } from './aiges/v1/LoadReport.js';
import type { LoaderClient as _aiges_v1_LoaderClient, LoaderDefinition as _aiges_v1_LoaderDefinition } from './aiges/v1/Loader.js';
import type { MetadataRequest as _aiges_v1_MetadataRequest, MetadataRequest__Output as _aiges_v1_MetadataRequest__Output } from './aiges/v1/MetadataRequest.js';
import type { MetadataResponse as _aiges_v1_MetadataResponse, MetadataResponse__Output as _aiges_v1_MetadataResponse__Output } from './aiges/v1/MetadataResponse.js';
import type { RelayFrame as _aiges_v1_RelayFrame, RelayFrame__Output as _aiges_v1_RelayFrame__Output } from './aiges/v1/RelayFrame.js';
import type { SessionRequest as _aiges_v1_SessionRequest, SessionRequest__Output as _aiges_v1_SessionRequest__Output } from './aiges/v1/SessionRequest.js';
import type { SessionResponse as _aiges_v1_SessionResponse, SessionResponse__Output as _aiges_v1_SessionResponse__Output } from './aiges/v1/SessionResponse.js';
import type { WatchLoadRequest as _aiges_v1_WatchLoadRequest, WatchLoadRequest__Output as _aiges_v1_WatchLoadRequest__Output } from './aiges/v1/WatchLoadRequest.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  aiges: {
    v1: {
      DataItem: MessageTypeDefinition<_aiges_v1_DataItem, _aiges_v1_DataItem__Output>
      DataStatus: EnumTypeDefinition
      DataType: EnumTypeDefinition
      InferRequest: MessageTypeDefinition<_aiges_v1_InferRequest, _aiges_v1_InferRequest__Output>
      InferResponse: MessageTypeDefinition<_aiges_v1_InferResponse, _aiges_v1_InferResponse__Output>
      KeySpec: MessageTypeDefinition<_aiges_v1_KeySpec, _aiges_v1_KeySpec__Output>
      LoadReport: MessageTypeDefinition<_aiges_v1_LoadReport, _aiges_v1_LoadReport__Output>
      Loader: SubtypeConstructor<typeof grpc.Client, _aiges_v1_LoaderClient> & { service: _aiges_v1_LoaderDefinition }
      MetadataRequest: MessageTypeDefinition<_aiges_v1_MetadataRequest, _aiges_v1_MetadataRequest__Output>
      MetadataResponse: MessageTypeDefinition<_aiges_v1_MetadataResponse, _aiges_v1_MetadataResponse__Output>
      RelayFrame: MessageTypeDefinition<_aiges_v1_RelayFrame, _aiges_v1_RelayFrame__Output>
      SessionRequest: MessageTypeDefinition<_aiges_v1_SessionRequest, _aiges_v1_SessionRequest__Output>
      SessionResponse: MessageTypeDefinition<_aiges_v1_SessionResponse, _aiges_v1_SessionResponse__Output>
      WatchLoadRequest: MessageTypeDefinition<_aiges_v1_WatchLoadRequest, _aiges_v1_WatchLoadRequest__Output>
    }
  }
}

