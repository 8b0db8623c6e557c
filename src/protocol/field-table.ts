// Field-table codec in RabbitMQ's dialect (tags per amqp/RABBITMQ-DIALECT.md).
// Decoded values are plain JS values where the plain value re-encodes to the same
// tag; anything else is kept as a TypedValue so a decode/encode round trip is exact.
//
// The codec lives in field-values (the value types), field-table-decode and field-table-encode;
// this module gathers them for the many importers (generated code included).

export * from './field-values.js';
export * from './field-table-decode.js';
export * from './field-table-encode.js';
