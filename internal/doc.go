// Package internal holds what the leadq service needs and nobody outside may
// import: configuration, Redis and Kafka plumbing, the embedded servers, the
// call queue and the test environment helpers. See the sub-packages.
package internal
