// The protobuf schemas of the shipper protocols (producer/proto/: Loki's push.proto, the OpenTelemetry logs protos),
// loaded once at start-up with protobufjs.
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const PROTO_DIR = fileURLToPath(new URL('../proto/', import.meta.url));

function load(file: string): protobuf.Root {
  const root = new protobuf.Root();
  // Imports such as "opentelemetry/proto/common/v1/common.proto" are relative to producer/proto/; google/protobuf/*
  // are protobufjs's built-in copies.
  root.resolvePath = (_origin, target) => (target.startsWith('google/protobuf/') || target.startsWith('/') ? target : PROTO_DIR + target);
  return root.loadSync(PROTO_DIR + file, { keepCase: false });
}

export const lokiPushRequest = load('loki/push.proto').lookupType('logproto.PushRequest');

const otlp = load('opentelemetry/proto/collector/logs/v1/logs_service.proto');
export const otlpExportRequest = otlp.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest');
export const otlpExportResponse = otlp.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse');

/** google.rpc.Status, the body of an OTLP/HTTP error answer (OTLP spec, "Failures"). */
export const rpcStatus = protobuf.Root.fromJSON({
  nested: { Status: { fields: { code: { type: 'int32', id: 1 }, message: { type: 'string', id: 2 } } } },
}).lookupType('Status');
