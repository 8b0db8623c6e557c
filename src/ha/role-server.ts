// GET /ha/role for load balancers and operators: 200 with {"role":"leader",...} on the node that
// serves AMQP, 503 with its role on the others, so a health check routes clients to the leader.
// A small server of its own until the management server is merged; then it moves there.

import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RoleInfo {
  readonly role: string;
  readonly group: string;
  readonly node: string;
  readonly epoch: number;
}

export class RoleServer {
  private readonly server: http.Server;

  constructor(info: () => RoleInfo) {
    this.server = http.createServer((req, res) => {
      if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/ha/role') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
        return;
      }
      const i = info();
      res.writeHead(i.role === 'leader' ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(`${JSON.stringify(i)}\n`);
    });
  }

  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve((this.server.address() as AddressInfo).port));
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }
}
