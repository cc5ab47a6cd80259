#!/usr/bin/env node
// tests/s3/server.js — the S3-protocol server pgkeep's tests run on loopback:
// s3rver 3.7.1 (files under --dir) wrapped with what s3rver lacks and the
// tests need: real SigV4 checking (s3rver accepts any V4 signature), payload
// hash and Content-MD5 checks, conditional writes (If-None-Match: *),
// ListMultipartUploads / AbortMultipartUpload, part checks on completion,
// key-ordered listings, an archive (GLACIER) marker, and injected faults.
//
//   node tests/s3/server.js --dir DIR --port PORT [--address 127.0.0.1]
//     [--bucket NAME]... [--access-key AK] [--secret-key SK] [--region R]
//     [--conditional-writes] [--min-part-size BYTES] [--tls-cert F --tls-key F]
//
// Prints one line "listening on <port>" once ready, nothing else on stdout.
// --conditional-writes: PUT and CompleteMultipartUpload honour
// "If-None-Match: *" (412 PreconditionFailed when the key exists, or while
// another conditional write of it is under way); without it the header is
// ignored, as by S3-compatible servers of before 2024. --min-part-size
// (default 5 MiB, 0: none) is checked on completion for all parts but the last.
// Control endpoints (no auth, loopback tests only), not counted in stats:
//   POST /__pgkeep/faults   replaces the fault list with a JSON list of
//     {method?, match?, action, status?, code?, count?}: each applies to the
//     next `count` (default 1) requests of that method whose raw (still
//     percent-encoded) path+query contains `match`, before any signature check.
//     action "status": read the body, answer `status` (503) with S3 error
//     `code` (SlowDown for 503); "reset": drop the connection before reading
//     the body; "reset-mid-body": drop it once half the body has arrived;
//     "delay": hold the request `ms` milliseconds, then serve it (a client
//     can be killed while its upload is under way).
//   DELETE /__pgkeep/faults        clear the list
//   GET/DELETE  /__pgkeep/stats    request counters / reset
//   POST /__pgkeep/archive?bucket=B&key=K[&storage-class=GLACIER]
//   POST /__pgkeep/age-uploads?bucket=B&seconds=N   backdate uploads' Initiated
//   GET /__pgkeep/uploads?bucket=B   {"uploads": N}: unfinished multipart uploads
'use strict';

const crypto = require('crypto');
const fs = require('fs-extra');
const path = require('path');
const { Readable } = require('stream');
const xmlParser = require('fast-xml-parser');
const he = require('he');
const S3rver = require('s3rver');
const S3Error = require('s3rver/lib/models/error');
const S3Object = require('s3rver/lib/models/object');
const { DUMMY_ACCOUNT } = require('s3rver/lib/models/account');

const MAX_BODY = 600 * 1024 * 1024;
const OBJECT_SUFFIX = '._S3rver_object'; // FilesystemStore: <dir>/<last part>._S3rver_object
const UPLOADS_DIR = '._S3rver_uploads'; // <bucket>/._S3rver_uploads/<id>/{key,metadata,<n>,<n>.md5}
const ARCHIVED = new Set(['GLACIER', 'DEEP_ARCHIVE']);
const XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';

function parseArgs(argv) {
  const o = { address: '127.0.0.1', buckets: [], accessKey: 'pgkeep-test',
    secretKey: 'pgkeep-test-secret', region: 'us-east-1', conditionalWrites: false,
    minPartSize: 5 * 1024 * 1024 };
  const names = { '--dir': 'dir', '--port': 'port', '--address': 'address', '--access-key': 'accessKey',
    '--secret-key': 'secretKey', '--region': 'region', '--tls-cert': 'tlsCert', '--tls-key': 'tlsKey',
    '--min-part-size': 'minPartSize' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--conditional-writes') o.conditionalWrites = true;
    else if (a === '--bucket' && i + 1 < argv.length) o.buckets.push(argv[++i]);
    else if (names[a] && i + 1 < argv.length) o[names[a]] = argv[++i];
    else throw new Error(`unknown or incomplete argument: ${a}`);
  }
  if (!o.dir || o.port === undefined) throw new Error('--dir and --port are required');
  if (!o.tlsCert !== !o.tlsKey) throw new Error('--tls-cert and --tls-key go together');
  o.port = Number(o.port);
  o.minPartSize = Number(o.minPartSize);
  return o;
}

// An S3 error answer; s3rver's onerror writes it as <Error> XML. S3Error takes
// the status from its own table, which lacks some codes (and faults choose it).
function s3err(code, message, detail = {}, status) {
  const err = new S3Error(code, message, detail);
  if (status) { err.status = status; err.expose = status < 500; }
  return err;
}

const rfc3986 = s => encodeURIComponent(s).replace(/[!'()*]/g, c => '%' + c.charCodeAt(0).toString(16).toUpperCase());
function decode(s) {
  try { return decodeURIComponent(s); } catch (e) { throw s3err('InvalidURI', "Couldn't parse the specified URI.", {}, 400); }
}
const byteCompare = (a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b));
const hmac = (key, text) => crypto.createHmac('sha256', key).update(text, 'utf8').digest();
const sha256 = text => crypto.createHash('sha256').update(text, 'utf8').digest('hex');
// A bucket-level query naming a subresource (?uploads, ?location, ...), which
// s3rver's router would dispatch on.
const bucketSubresource = q => require('s3rver/lib/controllers/bucket').METHODS.some(n => n in q);
const readJson = file => fs.readFile(file).then(JSON.parse, () => null);

// ---- SigV4, header form, rebuilt the way S3 does it -------------------------
function canonicalRequest(req, signedHeaders, payloadHash) {
  const q = req.url.indexOf('?');
  const rawPath = q < 0 ? req.url : req.url.slice(0, q);
  // S3 encodes each path segment once (no double encoding as other services do).
  const uri = rawPath.split('/').map(seg => rfc3986(decode(seg))).join('/');
  const query = (q < 0 ? '' : req.url.slice(q + 1)).split('&').filter(Boolean).map(p => {
    const eq = p.indexOf('=');
    return eq < 0 ? [rfc3986(decode(p)), ''] : [rfc3986(decode(p.slice(0, eq))), rfc3986(decode(p.slice(eq + 1)))];
  }).sort((a, b) => byteCompare(a[0], b[0]) || byteCompare(a[1], b[1])).map(([n, v]) => `${n}=${v}`).join('&');
  // From rawHeaders so that a repeated header is joined with ',' as AWS does.
  const values = new Map();
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i].toLowerCase();
    if (!values.has(name)) values.set(name, []);
    values.get(name).push(req.rawHeaders[i + 1].trim().replace(/\s+/g, ' '));
  }
  const headers = signedHeaders.map(h => `${h}:${(values.get(h) || []).join(',')}\n`).join('');
  return [req.method, uri, query, headers, signedHeaders.join(';'), payloadHash].join('\n');
}

function verifySignature(ctx, opts) {
  const req = ctx.req;
  const h = req.headers;
  if (!h.authorization) throw s3err('AccessDenied', 'Access Denied');
  if (!h.authorization.startsWith('AWS4-HMAC-SHA256 ')) {
    throw s3err('InvalidArgument', 'Unsupported Authorization Type (only AWS4-HMAC-SHA256)',
      { ArgumentName: 'Authorization', ArgumentValue: h.authorization });
  }
  const parts = new Map(h.authorization.slice(17).split(',').map(s => s.trim()).map(s => {
    const eq = s.indexOf('=');
    return [s.slice(0, eq), s.slice(eq + 1)];
  }));
  const credential = (parts.get('Credential') || '').split('/');
  const signedHeaders = (parts.get('SignedHeaders') || '').split(';').filter(Boolean);
  const signature = parts.get('Signature') || '';
  if (credential.length !== 5 || credential[3] !== 's3' || credential[4] !== 'aws4_request' ||
      !signedHeaders.length || !/^[0-9a-f]{64}$/.test(signature)) {
    throw s3err('AuthorizationHeaderMalformed', 'The authorization header is malformed; it needs ' +
      'Credential=AK/yyyymmdd/region/s3/aws4_request, SignedHeaders=... and Signature=<64 hex>.');
  }
  const [accessKey, scopeDate, region] = credential;
  if (region !== opts.region) {
    ctx.set('x-amz-bucket-region', opts.region); // s3rver's onerror keeps x-amz-* headers
    throw s3err('AuthorizationHeaderMalformed',
      `The authorization header is malformed; the region '${region}' is wrong; expecting '${opts.region}'`,
      { Region: opts.region });
  }
  if (accessKey !== opts.accessKey) {
    throw s3err('InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.',
      { AWSAccessKeyId: accessKey });
  }
  const payloadHash = h['x-amz-content-sha256'];
  if (payloadHash === undefined) {
    throw s3err('InvalidRequest', 'Missing required header for this request: x-amz-content-sha256');
  }
  const amzDate = h['x-amz-date'] || '';
  const d = /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/.exec(amzDate);
  if (!d) throw s3err('AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header');
  const requestTime = Date.UTC(d[1], d[2] - 1, d[3], d[4], d[5], d[6]);
  if (Math.abs(Date.now() - requestTime) > 15 * 60 * 1000) {
    throw s3err('RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.',
      { RequestTime: amzDate, ServerTime: new Date().toISOString(), MaxAllowedSkewMilliseconds: 900000 });
  }
  if (scopeDate !== amzDate.slice(0, 8)) {
    throw s3err('AuthorizationHeaderMalformed',
      `Invalid credential date "${scopeDate}". This date is not the same as X-Amz-Date: "${amzDate.slice(0, 8)}".`);
  }
  // S3 insists that Host and every x-amz-* header present be signed.
  const unsigned = Object.keys(h).filter(n => (n === 'host' || n.startsWith('x-amz-')) && !signedHeaders.includes(n));
  if (unsigned.length) {
    throw s3err('AccessDenied', 'There were headers present in the request which were not signed',
      { HeadersNotSigned: unsigned.join(', ') });
  }
  const canonical = canonicalRequest(req, signedHeaders, payloadHash);
  const scope = `${scopeDate}/${region}/s3/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  const key = ['s3', 'aws4_request'].reduce(hmac, hmac(hmac('AWS4' + opts.secretKey, scopeDate), region));
  const expected = hmac(key, stringToSign);
  if (!crypto.timingSafeEqual(expected, Buffer.from(signature, 'hex'))) {
    // Like S3, show both texts so that a client's signing bug can be seen.
    throw s3err('SignatureDoesNotMatch', 'The request signature we calculated does not match the ' +
      'signature you provided. Check your key and signing method.',
      { AWSAccessKeyId: accessKey, StringToSign: stringToSign, SignatureProvided: signature, CanonicalRequest: canonical });
  }
}

// The body as received, then checked against x-amz-content-sha256 and Content-MD5.
function verifyPayload(req, body) {
  const claimed = req.headers['x-amz-content-sha256'];
  if (claimed !== 'UNSIGNED-PAYLOAD') {
    if (!/^[0-9a-fA-F]{64}$/.test(claimed)) {
      throw s3err('NotImplemented', 'x-amz-content-sha256 must be UNSIGNED-PAYLOAD or a sha256; streaming ' +
        '(aws-chunked) payloads are not supported by this test server', {}, 501);
    }
    if (claimed.toLowerCase() !== body.sha256) {
      throw s3err('XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.",
        { ClientComputedContentSHA256: claimed, S3ComputedContentSHA256: body.sha256 }, 400);
    }
  }
  const md5 = req.headers['content-md5'];
  if (md5 !== undefined) {
    if (Buffer.from(md5, 'base64').length !== 16) throw s3err('InvalidDigest', 'The Content-MD5 you specified was invalid.');
    const actual = body.chunks.reduce((m, c) => m.update(c), crypto.createHash('md5')).digest('base64');
    if (actual !== md5) throw s3err('BadDigest', 'The Content-MD5 you specified did not match what we received.');
  }
}

// ---- the server -------------------------------------------------------------
function createServer(opts) {
  const app = new S3rver({
    directory: opts.dir, address: opts.address, port: opts.port, silent: true,
    // Off: with it s3rver takes any non-IP, non-"localhost" Host as a bucket name.
    vhostBuckets: false,
    configureBuckets: opts.buckets.map(name => ({ name })),
    ...(opts.tlsCert ? { cert: fs.readFileSync(opts.tlsCert), key: fs.readFileSync(opts.tlsKey) } : {}),
  });
  // Classes S3 has added since s3rver 3.7.1 (its list is module-wide).
  for (const c of ['GLACIER_IR', 'SNOW', 'EXPRESS_ONEZONE']) {
    if (!S3Object.STORAGE_CLASSES.includes(c)) S3Object.STORAGE_CLASSES.push(c);
  }
  // s3rver's own authentication then only checks that the key id is known.
  DUMMY_ACCOUNT.revokeAccessKey('S3RVER');
  DUMMY_ACCOUNT.createKeyPair(opts.accessKey, opts.secretKey);
  const store = app.store;
  const uploadDir = (bucket, id) => path.join(store.getResourcePath(bucket, undefined, 'uploads'), id);
  const metadataPath = (bucket, key) => store.getResourcePath(bucket, key, 'metadata.json');

  const newStats = () => ({ requests: { PUT: 0, GET: 0, HEAD: 0, POST: 0, DELETE: 0 }, bytes_in: 0, bytes_out: 0, faults_used: 0 });
  let stats = newStats();
  let faults = [];
  const inFlight = new Set(); // bucket/key of conditional writes under way

  function takeFault(ctx) {
    const f = faults.find(f => f.count > 0 && (!f.method || f.method.toUpperCase() === ctx.method) &&
      (!f.match || ctx.url.includes(f.match)));
    if (f) { f.count--; stats.faults_used++; }
    return f;
  }

  // Reads the whole body (bounded), hashing it; null when the connection was
  // dropped (by the client or a reset-mid-body fault): then nobody answers.
  function readBody(req, resetAt) {
    return new Promise((resolve, reject) => {
      const length = Number(req.headers['content-length']);
      if (length > MAX_BODY) {
        return reject(s3err('EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size (600 MiB here).'));
      }
      const chunks = [];
      const hash = crypto.createHash('sha256');
      let received = 0;
      let done = false;
      const drop = () => { if (!done) { done = true; req.socket.destroy(); resolve(null); } };
      req.on('data', c => {
        if (done) return;
        received += c.length;
        stats.bytes_in += c.length;
        if (received > MAX_BODY || (resetAt !== undefined && received >= resetAt)) return drop();
        chunks.push(c);
        hash.update(c);
      });
      req.on('end', () => { if (!done) { done = true; resolve({ chunks, length: received, sha256: hash.digest('hex') }); } });
      req.on('error', drop);
      req.on('close', drop); // after 'end' this does nothing
    });
  }

  // A fresh readable of the buffered body for s3rver, which reads ctx.req
  // itself (pipe, 'data'); it carries the original request's properties.
  // The body goes in as one piece: s3rver writes each piece it reads with
  // its own trip through Node's thread pool, and a socket delivers 16 KiB
  // pieces (a thousand trips for a 16 MiB pack).
  function replay(req, chunks) {
    const r = new Readable({ read() {} });
    if (chunks.length) r.push(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
    r.push(null);
    for (const p of ['headers', 'rawHeaders', 'trailers', 'method', 'url', 'httpVersion', 'socket']) r[p] = req[p];
    return r;
  }

  async function control(ctx) {
    const route = `${ctx.method} ${ctx.path}`;
    const json = (status, value) => { ctx.status = status; ctx.type = 'application/json'; ctx.body = JSON.stringify(value); };
    if (route === 'GET /__pgkeep/stats') return json(200, stats);
    if (route === 'DELETE /__pgkeep/stats') { stats = newStats(); return json(200, stats); }
    if (route === 'DELETE /__pgkeep/faults') { faults = []; return json(200, faults); }
    if (route === 'POST /__pgkeep/faults') {
      const body = await readBody(ctx.req);
      if (!body) { ctx.respond = false; return; }
      let list;
      try { list = JSON.parse(Buffer.concat(body.chunks).toString('utf8')); } catch (e) { list = null; }
      if (!Array.isArray(list) || !list.every(f => f && ['status', 'reset', 'reset-mid-body', 'delay'].includes(f.action))) {
        return json(400, { error: 'expected a JSON list of {method?, match?, action: status|reset|reset-mid-body|delay, ms?, status?, code?, count?}' });
      }
      faults = list.map(f => ({ ...f, count: f.count === undefined ? 1 : Number(f.count) }));
      return json(200, faults);
    }
    const { bucket, key } = ctx.query;
    if (route === 'POST /__pgkeep/archive') {
      if (!bucket || !key || !(await store.existsObject(bucket, key))) return json(404, { error: 'no such object' });
      const metadata = (await readJson(metadataPath(bucket, key))) || {};
      metadata['x-amz-storage-class'] = ctx.query['storage-class'] || 'GLACIER';
      await fs.writeFile(metadataPath(bucket, key), JSON.stringify(metadata, null, 2));
      return json(200, { bucket, key, storage_class: metadata['x-amz-storage-class'] });
    }
    if (route === 'GET /__pgkeep/uploads') {
      return json(200, { uploads: bucket ? (await listUploads(bucket)).length : 0 });
    }
    if (route === 'POST /__pgkeep/age-uploads') {
      const uploads = bucket ? await listUploads(bucket) : [];
      for (const u of uploads) {
        const t = new Date(u.initiated.getTime() - Number(ctx.query.seconds || 0) * 1000);
        await fs.utimes(path.join(uploadDir(bucket, u.id), 'key'), t, t);
      }
      return json(200, { aged: uploads.length });
    }
    return json(404, { error: `no control endpoint ${route}` });
  }

  // Outermost: control endpoints, stats, faults, body, signature.
  async function front(ctx, next) {
    if (ctx.path.startsWith('/__pgkeep/')) return control(ctx);
    if (ctx.method in stats.requests) stats.requests[ctx.method]++;
    const res = ctx.res;
    const count = chunk => {
      if (chunk && typeof chunk !== 'function' && ctx.method !== 'HEAD') stats.bytes_out += Buffer.byteLength(chunk);
    };
    const [write, end] = [res.write, res.end];
    res.write = function (chunk, ...rest) { count(chunk); return write.call(this, chunk, ...rest); };
    res.end = function (chunk, ...rest) { count(chunk); return end.call(this, chunk, ...rest); };

    let fault = takeFault(ctx);
    if (fault && fault.action === 'delay') {
      await new Promise(resolve => setTimeout(resolve, Math.min(Number(fault.ms) || 1000, 600000)));
      fault = null;
    }
    if (fault && fault.action === 'reset') { ctx.req.socket.destroy(); ctx.respond = false; return; }
    const length = Number(ctx.get('content-length')) || 0;
    const body = await readBody(ctx.req, fault && fault.action === 'reset-mid-body' ? Math.max(1, Math.floor(length / 2)) : undefined);
    if (!body || (fault && fault.action === 'reset-mid-body')) { // (a body too short to halve: after it)
      ctx.req.socket.destroy();
      ctx.respond = false;
      return;
    }
    if (fault) {
      const status = Number(fault.status) || 503;
      const code = fault.code || (status === 503 ? 'SlowDown' : status >= 500 ? 'InternalError' : 'InjectedFault');
      throw s3err(code, `injected fault (${code})`, {}, status);
    }
    verifySignature(ctx, opts);
    verifyPayload(ctx.req, body);
    ctx.state.body = body;
    ctx.req = replay(ctx.req, body.chunks);
    await next();
  }

  async function listUploads(bucket) {
    const root = uploadDir(bucket, '');
    const ids = await fs.readdir(root).catch(() => []);
    const uploads = [];
    for (const id of ids) {
      const keyFile = path.join(root, id, 'key');
      const [key, stat, metadata] = await Promise.all([fs.readFile(keyFile, 'utf8').catch(() => null),
        fs.stat(keyFile).catch(() => null), readJson(path.join(root, id, 'metadata'))]);
      if (key !== null && stat) uploads.push({ key, id, initiated: stat.mtime, storageClass: (metadata || {})['x-amz-storage-class'] });
    }
    return uploads.sort((a, b) => byteCompare(a.key, b.key) || byteCompare(a.id, b.id));
  }

  async function existingUpload(bucket, key, id) {
    // The id names a directory: anything but s3rver's hex ids is refused.
    const dir = /^[0-9a-zA-Z]+$/.test(id || '') ? uploadDir(bucket, id) : null;
    if (dir && (await fs.readFile(path.join(dir, 'key'), 'utf8').catch(() => null)) === key) return dir;
    throw s3err('NoSuchUpload', 'The specified upload does not exist. The upload ID may be invalid, or the ' +
      'upload may have been aborted or completed.', { UploadId: id });
  }

  // S3 checks the list of parts; s3rver assembles whatever files exist (and
  // hangs on a missing one).
  async function checkParts(dir, body) {
    let parsed;
    try {
      parsed = xmlParser.parse(Buffer.concat(body.chunks).toString('utf8'), { parseNodeValue: false, tagValueProcessor: a => he.decode(a) });
    } catch (e) { return; } // s3rver answers MalformedXML
    const parts = [].concat(((parsed || {}).CompleteMultipartUpload || {}).Part || []);
    let previous = 0;
    for (const [i, part] of parts.entries()) {
      const number = Number(part.PartNumber);
      if (!(number > previous)) {
        throw s3err('InvalidPartOrder', 'The list of parts was not in ascending order. Parts must be ordered by part number.');
      }
      previous = number;
      const file = path.join(dir, String(number));
      const [stat, md5] = await Promise.all([fs.stat(file).catch(() => null), fs.readFile(file + '.md5', 'utf8').catch(() => null)]);
      if (!stat || md5 !== String(part.ETag || '').replace(/"/g, '')) {
        throw s3err('InvalidPart', 'One or more of the specified parts could not be found. The part may not have been ' +
          "uploaded, or the specified entity tag may not match the part's entity tag.", { PartNumber: number, ETag: part.ETag });
      }
      if (i < parts.length - 1 && stat.size < opts.minPartSize) {
        throw s3err('EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed object size.',
          { PartNumber: number, ProposedSize: stat.size, MinSizeAllowed: opts.minPartSize });
      }
    }
  }

  // ListObjectsV2. s3rver's own makes its continuation token with DES, which
  // OpenSSL 3 (Node 17+) refuses: every truncated listing would be a 500.
  // Tokens here are base64 (with '+', '/', '=' for the client to encode).
  async function listObjectsV2(ctx, bucket) {
    const q = ctx.query;
    if (!(await store.getBucket(bucket))) throw s3err('NoSuchBucket', 'The specified bucket does not exist', { BucketName: bucket });
    const maxKeys = q['max-keys'] === undefined ? 1000 : Number(q['max-keys']);
    if (!/^\d+$/.test(q['max-keys'] || '0')) {
      throw s3err('InvalidArgument', 'Provided max-keys not an integer or within integer range',
        { ArgumentName: 'max-keys', ArgumentValue: q['max-keys'] });
    }
    let startAfter = q['start-after'] || '';
    if (q['continuation-token'] !== undefined) {
      const token = Buffer.from(q['continuation-token'], 'base64').toString('utf8');
      if (!token.startsWith(`pgkeep:${bucket}:`)) {
        throw s3err('InvalidArgument', 'The continuation token provided is incorrect', { ArgumentName: 'continuation-token' });
      }
      startAfter = token.slice(`pgkeep:${bucket}:`.length);
    }
    const prefix = q.prefix || '', delimiter = q.delimiter || '';
    const result = maxKeys === 0 ? { objects: [], commonPrefixes: [], isTruncated: false }
      : await store.listObjects(bucket, { prefix, delimiter, startAfter, maxKeys: Math.min(1000, maxKeys) });
    const last = result.objects[result.objects.length - 1];
    const url = q['encoding-type'] === 'url';
    const e = s => (url ? rfc3986(s) : s);
    const owner = q['fetch-owner'] === 'true' ? { ID: DUMMY_ACCOUNT.id, DisplayName: DUMMY_ACCOUNT.displayName } : undefined;
    ctx.body = { ListBucketResult: { '@': { xmlns: XMLNS }, Name: bucket, Prefix: e(prefix),
      StartAfter: q['start-after'] !== undefined ? e(q['start-after']) : undefined,
      ContinuationToken: q['continuation-token'],
      NextContinuationToken: result.isTruncated ? Buffer.from(`pgkeep:${bucket}:${last.key}`).toString('base64') : undefined,
      KeyCount: result.objects.length + result.commonPrefixes.length, MaxKeys: maxKeys,
      Delimiter: delimiter ? e(delimiter) : undefined, EncodingType: url ? 'url' : undefined, IsTruncated: result.isTruncated,
      Contents: result.objects.map(o => ({ Key: e(o.key), LastModified: o.lastModifiedDate.toISOString(), ETag: o.metadata.etag,
        Size: o.size, Owner: owner, StorageClass: o.metadata['x-amz-storage-class'] || 'STANDARD' })),
      CommonPrefixes: result.commonPrefixes.map(p => ({ Prefix: e(p) })) } };
  }

  // Just before s3rver's router (after its XML encoder, so a plain-object
  // body becomes XML): the S3 operations it lacks or gets wrong.
  async function operations(ctx, next) {
    const m = /^\/([^/]+)(?:\/(.*))?$/.exec(ctx.path);
    if (!m) return next();
    const bucket = decode(m[1]);
    const key = m[2] ? decode(m[2]) : '';
    const q = ctx.query;

    if (!key && ctx.method === 'GET' && 'uploads' in q) {
      if (!(await store.getBucket(bucket))) throw s3err('NoSuchBucket', 'The specified bucket does not exist', { BucketName: bucket });
      const prefix = q.prefix || '', keyMarker = q['key-marker'] || '', idMarker = q['upload-id-marker'] || '';
      const max = Math.min(1000, q['max-uploads'] ? Number(q['max-uploads']) : 1000);
      const after = (await listUploads(bucket)).filter(u => u.key.startsWith(prefix) && (!keyMarker ||
        byteCompare(u.key, keyMarker) > 0 || (idMarker && u.key === keyMarker && byteCompare(u.id, idMarker) > 0)));
      const page = after.slice(0, max);
      const truncated = after.length > page.length;
      const owner = { ID: DUMMY_ACCOUNT.id, DisplayName: DUMMY_ACCOUNT.displayName };
      ctx.body = { ListMultipartUploadsResult: { '@': { xmlns: XMLNS }, Bucket: bucket, KeyMarker: keyMarker,
        UploadIdMarker: idMarker, NextKeyMarker: truncated ? page[page.length - 1].key : '',
        NextUploadIdMarker: truncated ? page[page.length - 1].id : '', Prefix: prefix, MaxUploads: max, IsTruncated: truncated,
        Upload: page.map(u => ({ Key: u.key, UploadId: u.id, Initiator: owner, Owner: owner,
          StorageClass: u.storageClass || 'STANDARD', Initiated: u.initiated.toISOString() })) } };
      return;
    }
    if (!key && ctx.method === 'GET' && q['list-type'] === '2' && !bucketSubresource(q)) return listObjectsV2(ctx, bucket);
    if (!key) {
      await next();
      const list = ctx.body && ctx.body.ListBucketResult;
      if (list) {
        // ListObjects (v1) by s3rver: it says STANDARD for every object, and uses a wrong namespace.
        list['@'].xmlns = XMLNS;
        for (const c of list.Contents || []) {
          c.StorageClass = ((await readJson(metadataPath(bucket, c.Key))) || {})['x-amz-storage-class'] || 'STANDARD';
        }
      }
      return;
    }
    if (ctx.method === 'DELETE' && 'uploadId' in q) { // AbortMultipartUpload
      await fs.remove(await existingUpload(bucket, key, q.uploadId));
      ctx.status = 204;
      return;
    }
    if (ctx.method === 'PUT' && 'uploadId' in q) { // UploadPart: s3rver would create the upload's directory
      await existingUpload(bucket, key, q.uploadId);
      const n = q.partNumber;
      if (!/^[1-9][0-9]{0,4}$/.test(n || '') || Number(n) > 10000) {
        throw s3err('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive',
          { ArgumentName: 'partNumber', ArgumentValue: n });
      }
    }
    // s3rver checks x-amz-storage-class on PUT, but for a multipart upload
    // only on completion (a failed completion leaves the upload behind).
    const storageClass = ctx.get('x-amz-storage-class');
    if (ctx.method === 'POST' && 'uploads' in q && storageClass && !S3Object.STORAGE_CLASSES.includes(storageClass)) {
      throw s3err('InvalidStorageClass', 'The storage class you specified is not valid', { StorageClassRequested: storageClass });
    }
    const complete = ctx.method === 'POST' && 'uploadId' in q;
    if (complete) await checkParts(await existingUpload(bucket, key, q.uploadId), ctx.state.body);
    // As S3: a GET of an archived object is refused; a HEAD answers 200 with
    // its storage class.
    if (ctx.method === 'GET' && !('tagging' in q) && !('acl' in q)) {
      const storageClass = ((await readJson(metadataPath(bucket, key))) || {})['x-amz-storage-class'];
      if (ARCHIVED.has(storageClass) && (await store.existsObject(bucket, key))) {
        throw s3err('InvalidObjectState', "The operation is not valid for the object's storage class", { StorageClass: storageClass });
      }
    }
    // Conditional write: the key is claimed before the existence check and
    // kept until the write is done, so of two concurrent writers exactly one
    // wins; the other gets 412 at once (it does not wait for the first).
    const putObject = ctx.method === 'PUT' && !['uploadId', 'tagging', 'acl'].some(p => p in q);
    if (opts.conditionalWrites && (putObject || complete) && ctx.get('if-none-match').trim() === '*') {
      const id = `${bucket}/${key}`;
      const failed = () => s3err('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold',
        { Condition: 'If-None-Match' });
      if (inFlight.has(id)) throw failed();
      inFlight.add(id);
      try {
        if (await store.existsObject(bucket, key)) throw failed();
        await next();
      } finally {
        inFlight.delete(id);
      }
      return;
    }
    await next();
  }

  // s3rver walks directories in file-name order, which is not key order
  // ("a-1._S3rver_object" sorts before "a._S3rver_object", directory "a" before
  // "a.txt..."), and its pagination (continue after the last key) then skips
  // keys. This lists by the keys' UTF-8 bytes like S3; a common prefix is
  // given once, on the page where its first key falls, and does not count
  // toward max-keys (s3rver's controller needs a last key for its token).
  store.listObjects = async function (bucket, { delimiter = '', startAfter = '', prefix = '', maxKeys = Infinity }) {
    const all = [];
    (function walk(dir, rel) {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const sub = rel + e.name + '/';
        if (e.isDirectory() && !(rel === '' && e.name === UPLOADS_DIR) && (sub.startsWith(prefix) || prefix.startsWith(sub))) {
          walk(path.join(dir, e.name), sub);
        } else if (e.isFile() && e.name.endsWith(OBJECT_SUFFIX)) {
          const key = rel + e.name.slice(0, -OBJECT_SUFFIX.length);
          if (key.startsWith(prefix)) all.push(key);
        }
      }
    })(store.getBucketPath(bucket), '');
    all.sort(byteCompare);
    const keys = [], commonPrefixes = [], seen = new Set();
    let isTruncated = false;
    for (const key of all) {
      const at = delimiter ? key.indexOf(delimiter, prefix.length) : -1;
      const cp = at >= 0 ? key.slice(0, at + delimiter.length) : null;
      if (startAfter && byteCompare(key, startAfter) <= 0) { if (cp) seen.add(cp); continue; }
      if (cp && seen.has(cp)) continue;
      if (keys.length >= maxKeys) { isTruncated = true; break; }
      if (cp) { seen.add(cp); commonPrefixes.push(cp); } else keys.push(key);
    }
    const objects = [];
    for (const key of keys) {
      const metadata = await store.getMetadata(bucket, key).catch(() => null); // deleted meanwhile
      if (metadata) objects.push(new S3Object(bucket, key, null, metadata));
    }
    return { objects, commonPrefixes, isTruncated };
  };

  // GetObject as s3rver's, but read in 1 MiB pieces rather than 64 KiB: each
  // piece is a trip through Node's thread pool.
  store.getObject = async function (bucket, key, options) {
    const metadata = await store.getMetadata(bucket, key).catch(err => {
      if (err.code === 'ENOENT') return null;
      throw err;
    });
    if (!metadata) return null;
    const lastByte = Math.max(0, Number(metadata['content-length']) - 1);
    const range = { start: (options && options.start) || 0,
      end: Math.min((options && options.end) || Infinity, lastByte) };
    const file = store.getResourcePath(bucket, key, 'object');
    const content = range.start < 0 || range.end < range.start ? null : await new Promise((resolve, reject) => {
      const stream = fs.createReadStream(file, { ...range, highWaterMark: 1024 * 1024 })
        .on('error', reject).on('open', () => resolve(stream));
    }).catch(err => {
      if (err.code === 'ENOENT') return undefined; // deleted meanwhile
      throw err;
    });
    if (content === undefined) return null;
    const object = new S3Object(bucket, key, content, metadata);
    if (options && (options.start !== undefined || options.end)) object.range = range;
    return object;
  };

  if (app.middleware.length !== 5) throw new Error('unexpected s3rver middleware layout (not 3.7.1?)');
  app.middleware.unshift(front);
  app.middleware.splice(app.middleware.length - 1, 0, operations);
  // Koa's default handler would print every error; print only what is not an
  // S3 answer nor a client hanging up, i.e. a bug here or in s3rver.
  app.on('error', err => {
    if (!(err instanceof S3Error) && !['ECONNRESET', 'EPIPE', 'ERR_STREAM_PREMATURE_CLOSE'].includes(err.code)) {
      console.error('s3 test server:', err.stack || err);
    }
  });
  return app;
}

async function main() {
  let opts;
  try { opts = parseArgs(process.argv.slice(2)); } catch (e) {
    console.error(`${e.message}\nusage: server.js --dir DIR --port PORT [--address A] [--bucket NAME]... ` +
      '[--access-key AK] [--secret-key SK] [--region R] [--conditional-writes] [--min-part-size BYTES] [--tls-cert F --tls-key F]');
    process.exit(2);
  }
  fs.mkdirpSync(opts.dir);
  const app = createServer(opts);
  const { port } = await app.run();
  // Real S3 keeps idle connections ~20 s; Node's 5 s default races with
  // clients that reuse a connection idle for a few seconds.
  app.httpServer.keepAliveTimeout = 65000;
  process.stdout.write(`listening on ${port}\n`);
  const stop = () => {
    app.httpServer.close(() => process.exit(0));
    app.httpServer.closeAllConnections();
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (require.main === module) {
  main().catch(err => { console.error('s3 test server:', err.stack || err); process.exit(1); });
}
module.exports = { createServer, canonicalRequest };
