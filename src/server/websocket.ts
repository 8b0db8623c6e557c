// AMQP over WebSocket: binary messages carry the AMQP byte stream (as RabbitMQ's Web AMQP and
// @cloudamqp/amqp-client do); each WebSocket becomes a stream a Connection reads like a socket.

import { listenOn } from '../util/listen.js';
import { createServer, type Server } from 'node:http';
import { WebSocketServer, createWebSocketStream, type WebSocket } from 'ws';
import type { Transport } from './transport.js';

/** An HTTP server whose WebSocket upgrades become transports for `onTransport`; plain requests get 426. */
export function createAmqpWebSocketServer(onTransport: (t: Transport) => void): { http: Server; wss: WebSocketServer } {
  const http = createServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain' }).end('AMQP over WebSocket: upgrade required\n');
  });
  // The amqp subprotocol is what browser AMQP clients ask for; accept it or none.
  const wss = new WebSocketServer({
    server: http,
    handleProtocols: (protocols) => (protocols.has('amqp') ? 'amqp' : false),
  });
  wss.on('connection', (ws: WebSocket, req) => {
    const stream = createWebSocketStream(ws);
    const t = stream as unknown as Transport;
    Object.defineProperty(t, 'remoteAddress', { value: req.socket.remoteAddress });
    Object.defineProperty(t, 'remotePort', { value: req.socket.remotePort });
    stream.on('error', () => undefined);
    onTransport(t);
  });
  return { http, wss };
}

export class WebSocketListener {
  private readonly http: Server;
  private readonly wss: WebSocketServer;

  constructor(onTransport: (t: Transport) => void) {
    ({ http: this.http, wss: this.wss } = createAmqpWebSocketServer(onTransport));
  }

  listen(host: string, port: number): Promise<number> {
    return listenOn(this.http, host, port);
  }


  close(): Promise<void> {
    for (const c of this.wss.clients) c.terminate();
    return new Promise((resolve) => {
      this.wss.close(() => this.http.close(() => resolve()));
    });
  }
}
