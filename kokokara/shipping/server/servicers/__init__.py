"""gRPC servicers: each method translates the request into domain values, calls one domain
function and translates the result back. Failures are raised as domain errors and mapped to
statuses by kokokara.shipping.server.interceptors."""
