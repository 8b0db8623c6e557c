// Definitions export and import (administrators): the whole broker or one vhost. Imports take a
// JSON body or a multipart upload with field `file` (the web UI, `curl -F file=@defs.json`);
// `?download=<name>` makes the export an attachment.

import type { FastifyInstance } from 'fastify';
import { exportDefinitions } from '../../broker/definitions/export.js';
import { DefinitionsError, importDefinitions } from '../../broker/definitions/import.js';
import { noContent, Reply, type ApiRequest, type ManagementContext } from '../context.js';
import { domainCall } from '../domain-errors.js';
import { badRequest, HTTP, notFound, vhostNotFound } from '../errors.js';
import { queryParam } from '../lists.js';

export function register(app: FastifyInstance, ctx: ManagementContext): void {
  const broker = ctx.broker;

  const exported = (req: ApiRequest, vhost?: string): Reply => {
    if (vhost !== undefined && !broker.vhosts.has(vhost)) throw notFound();
    const doc = exportDefinitions(broker, vhost === undefined ? {} : { vhost });
    const download = queryParam(req.query, 'download');
    // The file name comes from the client; keep it to characters safe in a header.
    const headers: Record<string, string> = download === undefined || download === '' ? {} : { 'content-disposition': `attachment; filename=${download.replace(/[^\w.@+-]/g, '_')}` };
    return new Reply(HTTP.OK, doc, headers);
  };

  const imported = async (req: ApiRequest, vhost?: string): Promise<Reply> => {
    if (vhost !== undefined && !broker.vhosts.has(vhost)) throw vhostNotFound();
    const doc = req.body;
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc) || Object.keys(doc).length === 0) throw badRequest('not_json');
    const report = await domainCall(async () => {
      try {
        return await importDefinitions(broker, doc, vhost === undefined ? {} : { vhost });
      } catch (err) {
        if (err instanceof DefinitionsError) throw badRequest(err.message);
        throw err;
      }
    });
    if (report.skipped.length > 0 || report.ignored.length > 0) {
      ctx.log.info({ user: req.user.name, vhost, skipped: report.skipped.slice(0, 20), skippedCount: report.skipped.length, ignored: report.ignored }, 'definitions imported with items skipped');
    }
    return noContent();
  };

  ctx.route(app, { method: 'GET', url: '/api/definitions', auth: 'administrator', handler: (req) => exported(req) });
  ctx.route(app, { method: 'GET', url: '/api/definitions/:vhost', auth: 'administrator', handler: (req) => exported(req, req.params['vhost']) });
  ctx.route(app, { method: 'POST', url: '/api/definitions', auth: 'administrator', handler: (req) => imported(req) });
  ctx.route(app, { method: 'POST', url: '/api/definitions/:vhost', auth: 'administrator', handler: (req) => imported(req, req.params['vhost']) });
}
