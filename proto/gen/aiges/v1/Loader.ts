// Original file: proto/aiges/v1/loader.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { InferRequest as _aiges_v1_InferRequest, InferRequest__Output as _aiges_v1_InferRequest__Output } from '../../aiges/v1/InferRequest.js';
import type { InferResponse as _aiges_v1_InferResponse, InferResponse__Output as _aiges_v1_InferResponse__Output } from '../../aiges/v1/InferResponse.js';
import type { LoadReport as _aiges_v1_LoadReport, LoadReport__Output as _aiges_v1_LoadReport__Output } from '../../aiges/v1/LoadReport.js';
import type { MetadataRequest as _aiges_v1_MetadataRequest, MetadataRequest__Output as _aiges_v1_MetadataRequest__Output } from '../../aiges/v1/MetadataRequest.js';
import type { MetadataResponse as _aiges_v1_MetadataResponse, MetadataResponse__Output as _aiges_v1_MetadataResponse__Output } from '../../aiges/v1/MetadataResponse.js';
import type { RelayFrame as _aiges_v1_RelayFrame, RelayFrame__Output as _aiges_v1_RelayFrame__Output } from '../../aiges/v1/RelayFrame.js';
import type { SessionRequest as _aiges_v1_SessionRequest, SessionRequest__Output as _aiges_v1_SessionRequest__Output } from '../../aiges/v1/SessionRequest.js';
import type { SessionResponse as _aiges_v1_SessionResponse, SessionResponse__Output as _aiges_v1_SessionResponse__Output } from '../../aiges/v1/SessionResponse.js';
import type { WatchLoadRequest as _aiges_v1_WatchLoadRequest, WatchLoadRequest__Output as _aiges_v1_WatchLoadRequest__Output } from '../../aiges/v1/WatchLoadRequest.js';

export interface LoaderClient extends grpc.Client {
  Infer(argument: _aiges_v1_InferRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_aiges_v1_InferResponse__Output>): grpc.ClientUnaryCall;
  Infer(argument: _aiges_v1_InferRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_aiges_v1_InferResponse__Output>): grpc.ClientUnaryCall;
  Infer(argument: _aiges_v1_InferRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_aiges_v1_InferResponse__Output>): grpc.ClientUnaryCall;
  Infer(argument: _aiges_v1_InferRequest, callback: grpc.requestCallback<_aiges_v1_InferResponse__Output>): grpc.ClientUnaryCall;
  infer(argument: _aiges_v1_InferRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_aiges_v1_InferResponse__Output>): grpc.ClientUnaryCall;
  infer(argument: _aiges_v1_InferRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_aiges_v1_InferResponse__Output>): grpc.ClientUnaryCall;
  infer(argument: _aiges_v1_InferRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_aiges_v1_InferResponse__Output>): grpc.ClientUnaryCall;
  infer(argument: _aiges_v1_InferRequest, callback: grpc.requestCallback<_aiges_v1_InferResponse__Output>): grpc.ClientUnaryCall;
  
  Metadata(argument: _aiges_v1_MetadataRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_aiges_v1_MetadataResponse__Output>): grpc.ClientUnaryCall;
  Metadata(argument: _aiges_v1_MetadataRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_aiges_v1_MetadataResponse__Output>): grpc.ClientUnaryCall;
  Metadata(argument: _aiges_v1_MetadataRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_aiges_v1_MetadataResponse__Output>): grpc.ClientUnaryCall;
  Metadata(argument: _aiges_v1_MetadataRequest, callback: grpc.requestCallback<_aiges_v1_MetadataResponse__Output>): grpc.ClientUnaryCall;
  metadata(argument: _aiges_v1_MetadataRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_aiges_v1_MetadataResponse__Output>): grpc.ClientUnaryCall;
  metadata(argument: _aiges_v1_MetadataRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_aiges_v1_MetadataResponse__Output>): grpc.ClientUnaryCall;
  metadata(argument: _aiges_v1_MetadataRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_aiges_v1_MetadataResponse__Output>): grpc.ClientUnaryCall;
  metadata(argument: _aiges_v1_MetadataRequest, callback: grpc.requestCallback<_aiges_v1_MetadataResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Infer calls multiplexed on one stream, for balancers (see RelayFrame); clients call Infer.
   */
  Relay(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_aiges_v1_RelayFrame, _aiges_v1_RelayFrame__Output>;
  Relay(options?: grpc.CallOptions): grpc.ClientDuplexStream<_aiges_v1_RelayFrame, _aiges_v1_RelayFrame__Output>;
  /**
   * Infer calls multiplexed on one stream, for balancers (see RelayFrame); clients call Infer.
   */
  relay(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_aiges_v1_RelayFrame, _aiges_v1_RelayFrame__Output>;
  relay(options?: grpc.CallOptions): grpc.ClientDuplexStream<_aiges_v1_RelayFrame, _aiges_v1_RelayFrame__Output>;
  
  Session(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_aiges_v1_SessionRequest, _aiges_v1_SessionResponse__Output>;
  Session(options?: grpc.CallOptions): grpc.ClientDuplexStream<_aiges_v1_SessionRequest, _aiges_v1_SessionResponse__Output>;
  session(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_aiges_v1_SessionRequest, _aiges_v1_SessionResponse__Output>;
  session(options?: grpc.CallOptions): grpc.ClientDuplexStream<_aiges_v1_SessionRequest, _aiges_v1_SessionResponse__Output>;
  
  /**
   * The loader's load, now and on every change, with a heartbeat; ends when the loader stops.
   */
  WatchLoad(argument: _aiges_v1_WatchLoadRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_aiges_v1_LoadReport__Output>;
  WatchLoad(argument: _aiges_v1_WatchLoadRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_aiges_v1_LoadReport__Output>;
  /**
   * The loader's load, now and on every change, with a heartbeat; ends when the loader stops.
   */
  watchLoad(argument: _aiges_v1_WatchLoadRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_aiges_v1_LoadReport__Output>;
  watchLoad(argument: _aiges_v1_WatchLoadRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_aiges_v1_LoadReport__Output>;
  
}

export interface LoaderHandlers extends grpc.UntypedServiceImplementation {
  Infer: grpc.handleUnaryCall<_aiges_v1_InferRequest__Output, _aiges_v1_InferResponse>;
  
  Metadata: grpc.handleUnaryCall<_aiges_v1_MetadataRequest__Output, _aiges_v1_MetadataResponse>;
  
  /**
   * Infer calls multiplexed on one stream, for balancers (see RelayFrame); clients call Infer.
   */
  Relay: grpc.handleBidiStreamingCall<_aiges_v1_RelayFrame__Output, _aiges_v1_RelayFrame>;
  
  Session: grpc.handleBidiStreamingCall<_aiges_v1_SessionRequest__Output, _aiges_v1_SessionResponse>;
  
  /**
   * The loader's load, now and on every change, with a heartbeat; ends when the loader stops.
   */
  WatchLoad: grpc.handleServerStreamingCall<_aiges_v1_WatchLoadRequest__Output, _aiges_v1_LoadReport>;
  
}

export interface LoaderDefinition extends grpc.ServiceDefinition {
  Infer: MethodDefinition<_aiges_v1_InferRequest, _aiges_v1_InferResponse, _aiges_v1_InferRequest__Output, _aiges_v1_InferResponse__Output>
  Metadata: MethodDefinition<_aiges_v1_MetadataRequest, _aiges_v1_MetadataResponse, _aiges_v1_MetadataRequest__Output, _aiges_v1_MetadataResponse__Output>
  Relay: MethodDefinition<_aiges_v1_RelayFrame, _aiges_v1_RelayFrame, _aiges_v1_RelayFrame__Output, _aiges_v1_RelayFrame__Output>
  Session: MethodDefinition<_aiges_v1_SessionRequest, _aiges_v1_SessionResponse, _aiges_v1_SessionRequest__Output, _aiges_v1_SessionResponse__Output>
  WatchLoad: MethodDefinition<_aiges_v1_WatchLoadRequest, _aiges_v1_LoadReport, _aiges_v1_WatchLoadRequest__Output, _aiges_v1_LoadReport__Output>
}
