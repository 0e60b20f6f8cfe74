// Package api is leadq's HTTP surface and nothing else: Fiber handlers,
// request and response types, the one mapping from errors to status codes and
// problem+json bodies, the OpenAPI document and the dashboard assets.
package api
