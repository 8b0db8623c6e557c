// The pause before a failed login is answered by dropping the socket (clients without
// authentication_failure_close); scheduled on the broker's clock by the connection.

/** RabbitMQ 3.10's SILENT_CLOSE_DELAY: 3 s (measured live: the socket closes 3.0 s after start-ok). */
export const SILENT_CLOSE_DELAY_MS = 3000;
