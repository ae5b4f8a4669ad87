/**
 * The balancer's baseline: the least a grpc-js proxy can do for aiges.v1.Loader/Infer — a generic
 * handler with identity serializers that forwards each request's bytes to one fixed target on
 * the channel's own call and answers with what comes back. No routing, no picking, no retry, no
 * metadata filtering. Run by balancer.ts (`node --import tsx`); prints `{"port":N}`.
 */
import * as grpc from '@grpc/grpc-js';

const target = process.argv[2];
if (target === undefined) throw new Error('usage: bare-proxy.ts <host:port>');
const PATH = '/aiges.v1.Loader/Infer';
const identity = (b: Buffer) => b;
// The same channel and server options as the balancer's (polaris/balancer/endpoint.ts, balancer.ts).
const client = new grpc.Client(target, grpc.credentials.createInsecure(), {
  'grpc.max_receive_message_length': -1,
  'grpc.max_send_message_length': -1,
  'grpc.enable_retries': 0,
  'grpc.enable_channelz': 0,
});
const server = new grpc.Server({ 'grpc.max_receive_message_length': -1, 'grpc.max_send_message_length': -1, 'grpc.enable_channelz': 0 });
const method: grpc.MethodDefinition<Buffer, Buffer> = {
  path: PATH,
  requestStream: false,
  responseStream: false,
  requestSerialize: identity,
  requestDeserialize: identity,
  responseSerialize: identity,
  responseDeserialize: identity,
};
server.addService(
  { Infer: method },
  {
    Infer(call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) {
      let response: Buffer | undefined;
      const up = client.getChannel().createCall(PATH, call.getDeadline(), null, null, null);
      up.start(call.metadata, {
        onReceiveMetadata: () => undefined,
        onReceiveMessage: (message: Buffer) => (response = message),
        onReceiveStatus: (status) => (status.code === grpc.status.OK ? callback(null, response) : callback(status)),
      });
      up.sendMessageWithContext({}, call.request);
      up.halfClose();
      up.startRead();
    },
  },
);
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) {
    process.stderr.write(`bare-proxy: ${err.message}\n`);
    process.exit(1);
  }
  process.stdout.write(`${JSON.stringify({ port })}\n`);
});
