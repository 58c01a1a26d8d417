import type { DescFile, DescService } from "@bufbuild/protobuf";
import { toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { Server } from "@grpc/grpc-js";
import type { PackageDefinition } from "@grpc/proto-loader";
import { ReflectionService } from "@grpc/reflection";
import { healthV1 } from "@strata/proto";

function collectFiles(file: DescFile, into: Map<string, DescFile>): void {
  if (into.has(file.name)) return;
  into.set(file.name, file);
  for (const dependency of file.dependencies) collectFiles(dependency, into);
}

/**
 * Serves grpc.reflection (v1 and v1alpha) for the given services and for grpc.health.v1, so `grpcurl`
 * can list and call everything without local .proto files.
 */
export function addReflection(server: Server, services: DescService[]): void {
  const files = new Map<string, DescFile>();
  for (const service of [...services, healthV1.Health]) collectFiles(service.file, files);
  const definition: PackageDefinition = {};
  for (const [name, file] of files) {
    definition[`file:${name}`] = {
      format: "Protocol Buffer 3 FileDescriptorProto",
      fileDescriptorProtos: [Buffer.from(toBinary(FileDescriptorProtoSchema, file.proto))],
    } as never;
  }
  new ReflectionService(definition).addToServer(server);
}
