// The one multipart/form-data body the API takes: a definitions file uploaded from the web UI or
// with `curl -F file=@defs.json` (field `file`). The whole body is already in memory under the
// body cap, so a small parser over the buffer does; its JSON is parsed like any other body.

import { badRequest } from './errors.js';

export function parseMultipartFile(contentType: string, body: Buffer, field = 'file'): unknown {
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  const boundary = m?.[1] ?? m?.[2];
  if (boundary === undefined) throw badRequest('multipart body without a boundary');
  const delimiter = Buffer.from(`--${boundary}`);
  let at = body.indexOf(delimiter);
  while (at >= 0) {
    const partStart = at + delimiter.length;
    // `--boundary--` ends the body.
    if (body[partStart] === 0x2d && body[partStart + 1] === 0x2d) break;
    const next = body.indexOf(delimiter, partStart);
    if (next < 0) break;
    const part = body.subarray(partStart, next);
    const headerEnd = part.indexOf('\r\n\r\n');
    if (headerEnd >= 0) {
      const headers = part.subarray(0, headerEnd).toString('utf8');
      const name = /content-disposition:[^\r\n]*\bname="([^"]*)"/i.exec(headers)?.[1];
      if (name === field) {
        // The part's content ends before the CRLF that precedes the next delimiter.
        let end = part.length;
        if (part[end - 2] === 0x0d && part[end - 1] === 0x0a) end -= 2;
        const text = part.subarray(headerEnd + 4, end).toString('utf8');
        try {
          return JSON.parse(text) as unknown;
        } catch {
          throw badRequest('not_json');
        }
      }
    }
    at = next;
  }
  throw badRequest(`multipart body has no '${field}' field`);
}
