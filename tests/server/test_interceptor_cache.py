"""The interceptors build a method's wrapper once: grpcio hands them the same handler for a method on
every call. The HTTP bridge builds a new handler per call; its calls get wrappers of their own and
never displace the one gRPC calls use."""

from __future__ import annotations

from typing import Any

import grpc

from kokokara.shipping.server.interceptors import ServingInterceptor

METHOD = "/kokokara.shipping.v1.RateService/GetQuote"


class Details(grpc.HandlerCallDetails):
    def __init__(self, method: str) -> None:
        self.method = method
        self.invocation_metadata = ()


def handler() -> grpc.RpcMethodHandler:
    return grpc.unary_unary_rpc_method_handler(lambda request, context: request)


def wrap(interceptor: ServingInterceptor, inner: grpc.RpcMethodHandler) -> Any:
    return interceptor.intercept_service(lambda _details: inner, Details(METHOD))


def test_a_methods_wrapper_is_built_once_and_per_call_handlers_do_not_displace_it() -> None:
    interceptor = ServingInterceptor(log_requests=False)
    per_call = wrap(interceptor, handler())  # the HTTP bridge came first
    registered = handler()
    first = wrap(interceptor, registered)
    assert first is not per_call
    assert wrap(interceptor, registered) is first  # from now on the same wrapper
    from_bridge = [wrap(interceptor, handler()) for _ in range(3)]
    assert all(w is not first for w in from_bridge) and len({id(w) for w in from_bridge}) == 3
    assert wrap(interceptor, registered) is first  # still cached
