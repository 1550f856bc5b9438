"""A stock gRPC client against sanxiang: Python's grpcio with grpcio-reflection, which speaks
server reflection v1alpha (as grpcurl before 1.9 does). It lists the services, describes one, and
makes a call with a request built from the reflected descriptors alone (no generated code).

Usage: reflection_client.py HOST:PORT TOKEN. Prints one JSON document for the test to check.
"""

import json
import sys

import grpc
from google.protobuf import descriptor_pool, json_format
from google.protobuf.message_factory import GetMessageClass
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase


def main() -> None:
    target, token = sys.argv[1], sys.argv[2]
    channel = grpc.insecure_channel(target)
    database = ProtoReflectionDescriptorDatabase(channel)
    pool = descriptor_pool.DescriptorPool(database)

    # `grpcurl list`
    services = sorted(database.get_services())

    # `grpcurl describe sanxiang.v1.RegistryService`
    registry = pool.FindServiceByName("sanxiang.v1.RegistryService")
    methods = {m.name: [m.input_type.full_name, m.output_type.full_name] for m in registry.methods}

    # `grpcurl -H 'authorization: Bearer …' -d '{}' … sanxiang.v1.RegistryService/WhoAmI`
    who_am_i = registry.methods_by_name["WhoAmI"]
    request_class = GetMessageClass(who_am_i.input_type)
    response_class = GetMessageClass(who_am_i.output_type)
    call = channel.unary_unary(
        "/sanxiang.v1.RegistryService/WhoAmI",
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=response_class.FromString,
    )
    answer = call(request_class(), metadata=[("authorization", f"Bearer {token}")], timeout=10)

    # A refused call: the status and message a stock client shows.
    try:
        call(request_class(), metadata=[("authorization", "Bearer not-a-token")], timeout=10)
        refused = None
    except grpc.RpcError as e:
        refused = {"code": e.code().name, "message": e.details()}

    print(
        json.dumps(
            {
                "services": services,
                "registry_methods": methods,
                "who_am_i": json_format.MessageToDict(answer, preserving_proto_field_name=True),
                "refused": refused,
            }
        )
    )


if __name__ == "__main__":
    main()
