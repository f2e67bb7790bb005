"""The wire protocol's message classes, generated from proto/td3d.proto (never kept by hand).

The build generates td3d_pb2.py into this package's copy in the build tree (`cmake --build`:
build/python/td3d/). Without the build:
    protoc --python_out=clients/python/td3d --proto_path=proto proto/td3d.proto
"""
try:
    from . import td3d_pb2 as pb  # noqa: F401
except ImportError as e:  # pragma: no cover - depends on the installation
    raise ImportError(
        "td3d: the message classes (td3d_pb2.py) are missing: use the package the build makes "
        "(PYTHONPATH=build/python) or run `protoc --python_out=clients/python/td3d "
        "--proto_path=proto proto/td3d.proto` (Debian: protobuf-compiler)") from e

PROTOCOL_VERSION = 4          # common/net/wire.h WIRE_PROTOCOL_VERSION
WEIGHTS_SUBSCRIBE = b"\x01"   # WIRE_WEIGHTS_SUBSCRIBE: the weights DEALER's subscribe frame
WEIGHTS_SUBSCRIBE_S = 1.0     # WIRE_WEIGHTS_SUBSCRIBE_MS: sent again this often
END_MARK = 0x44334454         # WIRE_END_MARK: every message ends with it
MAX_NAME = 64                 # WIRE_MAX_NAME: actor name and env id, bytes
MAX_DIM = 4096                # WIRE_MAX_DIM
MAX_LAYERS = 8                # WIRE_MAX_LAYERS
