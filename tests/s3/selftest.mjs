// tests/s3/selftest.mjs — checks tests/s3/server.js with its own SigV4 signer
// (node's crypto) and, when present, the curl CLI's --aws-sigv4 signer.
//   node tests/s3/selftest.mjs     (exit 0 when every check passes)
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 's3-selftest-'));
const AK = 'pgkeep-test', SK = 'pgkeep-test-secret', REGION = 'us-east-1';
let failures = 0, checks = 0;
function check(ok, what, extra = '') {
  checks++;
  if (!ok) failures++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}${ok || !extra ? '' : ' -- ' + extra}`);
}

function start(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(here, 'server.js'), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', d => {
      out += d;
      const m = /^listening on (\d+)\n/.exec(out);
      if (m) resolve({ child, port: Number(m[1]), stdout: () => out });
    });
    child.on('exit', code => reject(new Error(`server exited ${code}`)));
  });
}

const enc = s => encodeURIComponent(s).replace(/[!'()*]/g, c => '%' + c.charCodeAt(0).toString(16).toUpperCase());
const sha = b => crypto.createHash('sha256').update(b).digest('hex');
const hmac = (k, t) => crypto.createHmac('sha256', k).update(t).digest();

// A SigV4-signed request. `key` is raw (encoded here), `query` raw pairs.
function request(port, method, bucket, key, { query = [], headers = {}, body = Buffer.alloc(0), secret = SK,
  accessKey = AK, region = REGION, date = new Date(), payloadHash, sign = true, tls = false, tamper } = {}) {
  const p = '/' + bucket + (key === undefined ? '' : '/' + key.split('/').map(enc).join('/'));
  const qs = query.map(([n, v]) => [enc(n), enc(v)]).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : 1))
    .map(([n, v]) => `${n}=${v}`).join('&');
  const amzDate = date.toISOString().replace(/[-:]|\.\d+/g, '');
  const h = { host: `127.0.0.1:${port}`, 'x-amz-date': amzDate, ...headers };
  if (payloadHash !== null) h['x-amz-content-sha256'] = payloadHash || sha(body);
  if (sign) {
    const names = Object.keys(h).map(n => n.toLowerCase()).sort();
    const lower = Object.fromEntries(Object.entries(h).map(([n, v]) => [n.toLowerCase(), String(v)]));
    const canonical = [method, p, qs, names.map(n => `${n}:${lower[n].trim()}\n`).join(''), names.join(';'),
      lower['x-amz-content-sha256'] || ''].join('\n');
    const scope = `${amzDate.slice(0, 8)}/${region}/s3/aws4_request`;
    const sts = ['AWS4-HMAC-SHA256', amzDate, scope, sha(canonical)].join('\n');
    const k = ['s3', 'aws4_request'].reduce(hmac, hmac(hmac('AWS4' + secret, amzDate.slice(0, 8)), region));
    h.authorization = `AWS4-HMAC-SHA256 Credential=${accessKey}/${scope}, SignedHeaders=${names.join(';')}, Signature=${hmac(k, sts).toString('hex')}`;
  }
  if (tamper) body = tamper(body);
  return new Promise((resolve, reject) => {
    const req = (tls ? https : http).request({ host: '127.0.0.1', port, method, path: p + (qs ? '?' + qs : ''),
      headers: { ...h, 'content-length': body.length }, rejectUnauthorized: false, agent: false }, res => {
      const chunks = [];
      res.on('data', c => chunks.push(c));
      res.on('end', () => {
        const b = Buffer.concat(chunks);
        const code = (/<Code>([^<]*)<\/Code>/.exec(b.toString()) || [])[1];
        resolve({ status: res.statusCode, headers: res.headers, body: b, text: b.toString(), code });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

function control(port, method, p, json) {
  return new Promise((resolve, reject) => {
    const body = json === undefined ? '' : JSON.stringify(json);
    const req = http.request({ host: '127.0.0.1', port, method, path: p, agent: false, headers: { 'content-length': Buffer.byteLength(body) } }, res => {
      let t = '';
      res.on('data', c => (t += c));
      res.on('end', () => resolve({ status: res.statusCode, json: t ? JSON.parse(t) : null }));
    });
    req.on('error', reject);
    req.end(body);
  });
}
const all = (re, text) => [...text.matchAll(re)].map(m => m[1]);

const A = await start(['--dir', path.join(tmp, 'a'), '--port', '0', '--bucket', 'bkt', '--bucket', 'other', '--conditional-writes']);
const B = await start(['--dir', path.join(tmp, 'b'), '--port', '0', '--bucket', 'bkt']);
const a = (...args) => request(A.port, ...args);
const b = (...args) => request(B.port, ...args);
try {
  // --- authentication
  let r = await a('GET', 'bkt', 'x', { sign: false });
  check(r.status === 403 && r.code === 'AccessDenied', 'no Authorization: 403 AccessDenied', r.text);
  const bin = crypto.randomBytes(100000);
  r = await a('PUT', 'bkt', 'dir/bin', { body: bin, headers: { 'content-type': 'application/octet-stream' } });
  check(r.status === 200 && r.headers.etag === `"${crypto.createHash('md5').update(bin).digest('hex')}"`, 'PUT binary, ETag quoted md5', r.status + r.text);
  r = await a('GET', 'bkt', 'dir/bin');
  check(r.status === 200 && r.body.equals(bin), 'GET returns the bytes');
  r = await a('HEAD', 'bkt', 'dir/bin');
  check(r.status === 200 && r.headers['content-length'] === '100000' && r.body.length === 0 && r.headers['last-modified'], 'HEAD');
  r = await a('GET', 'bkt', 'dir/bin', { headers: { range: 'bytes=10-19' } });
  check(r.status === 206 && r.body.equals(bin.subarray(10, 20)) && r.headers['content-range'] === 'bytes 10-19/100000', 'ranged GET');
  const big = crypto.randomBytes(20 << 20);
  r = await a('PUT', 'bkt', 'big', { body: big });
  check(r.status === 200, 'PUT 20 MiB');
  r = await a('GET', 'bkt', 'big');
  check(r.status === 200 && r.body.equals(big), 'GET 20 MiB round-trips');
  const odd = 'odd/a b+c%d é~(x)!*.txt';
  r = await a('PUT', 'bkt', odd, { body: Buffer.from('odd') });
  check(r.status === 200, 'PUT a key with spaces, +, %, unicode, !*()', r.text);
  r = await a('GET', 'bkt', odd);
  check(r.status === 200 && r.text === 'odd', 'GET it back');
  r = await a('PUT', 'bkt', 'dir/bin', { body: bin, secret: 'wrong' });
  check(r.status === 403 && r.code === 'SignatureDoesNotMatch' && r.text.includes('<CanonicalRequest>'), 'wrong secret: 403 SignatureDoesNotMatch');
  r = await a('GET', 'bkt', 'dir/bin', { accessKey: 'nobody' });
  check(r.status === 403 && r.code === 'InvalidAccessKeyId', 'unknown key: 403 InvalidAccessKeyId');
  r = await a('GET', 'bkt', 'dir/bin', { region: 'eu-west-1' });
  check(r.status === 400 && r.code === 'AuthorizationHeaderMalformed' && r.text.includes('<Region>us-east-1</Region>') &&
    r.headers['x-amz-bucket-region'] === 'us-east-1', 'wrong region: 400 AuthorizationHeaderMalformed, Region, x-amz-bucket-region', r.text);
  r = await a('GET', 'bkt', 'dir/bin', { date: new Date(Date.now() - 16 * 60000) });
  check(r.status === 403 && r.code === 'RequestTimeTooSkewed', 'clock 16 min off: 403 RequestTimeTooSkewed');
  r = await a('GET', 'bkt', 'dir/bin', { payloadHash: null });
  check(r.status === 400 && r.code === 'InvalidRequest', 'no x-amz-content-sha256: 400 InvalidRequest');
  r = await a('PUT', 'bkt', 'tampered', { body: Buffer.from('hello'), tamper: () => Buffer.from('jello') });
  check(r.status === 400 && r.code === 'XAmzContentSHA256Mismatch', 'tampered body: 400 XAmzContentSHA256Mismatch', r.text);
  r = await a('PUT', 'bkt', 'unsigned', { body: Buffer.from('hello'), payloadHash: 'UNSIGNED-PAYLOAD' });
  check(r.status === 200, 'UNSIGNED-PAYLOAD accepted');
  r = await a('PUT', 'bkt', 'md5', { body: Buffer.from('hello'), headers: { 'content-md5': crypto.createHash('md5').update('jello').digest('base64') } });
  check(r.status === 400 && r.code === 'BadDigest', 'wrong Content-MD5: 400 BadDigest');
  r = await a('PUT', 'bkt', 'storage', { body: Buffer.from('x'), headers: { 'x-amz-storage-class': 'STANDARD_IA', 'x-amz-server-side-encryption': 'AES256' } });
  check(r.status === 200, 'PUT with x-amz-storage-class STANDARD_IA and x-amz-server-side-encryption', r.text);
  r = await a('PUT', 'bkt', 'storage-ir', { body: Buffer.from('x'), headers: { 'x-amz-storage-class': 'GLACIER_IR' } });
  check(r.status === 200, 'PUT with x-amz-storage-class GLACIER_IR', r.text);
  r = await a('POST', 'bkt', 'storage-bad', { query: [['uploads', '']], headers: { 'x-amz-storage-class': 'BOGUS' } });
  check(r.status === 400 && r.code === 'InvalidStorageClass', 'CreateMultipartUpload with a bad storage class: 400 InvalidStorageClass');
  r = await a('HEAD', 'bkt', 'storage');
  check(r.headers['x-amz-storage-class'] === 'STANDARD_IA', 'HEAD shows x-amz-storage-class');

  // --- listing: key order, prefix, pagination, delimiter
  const keys = ['p/a', 'p/a-1', 'p/a.txt', 'p/a/x', 'p/a/y', 'p/b'];
  for (const k of [...keys].reverse()) await a('PUT', 'bkt', k, { body: Buffer.from(k) });
  let got = [], token, pages = 0;
  do {
    const q = [['list-type', '2'], ['prefix', 'p/'], ['max-keys', '2']];
    if (token) q.push(['continuation-token', token]);
    r = await a('GET', 'bkt', undefined, { query: q });
    got.push(...all(/<Key>([^<]*)<\/Key>/g, r.text));
    token = (/<NextContinuationToken>([^<]*)</.exec(r.text) || [])[1];
    pages++;
  } while (token && pages < 10);
  check(JSON.stringify(got) === JSON.stringify(keys) && pages === 3, 'ListObjectsV2 prefix + max-keys 2 + continuation-token: all keys once, in order', JSON.stringify(got));
  check(/<Size>3<\/Size>/.test(r.text) && /<LastModified>\d{4}-/.test(r.text) && /<StorageClass>STANDARD</.test(r.text), 'Contents have Size, LastModified, StorageClass');
  r = await a('GET', 'bkt', '', { query: [['list-type', '2'], ['prefix', 'p/'], ['delimiter', '/']] });
  check(JSON.stringify(all(/<Prefix>([^<]*)<\/Prefix>/g, r.text)) === '["p/","p/a/"]' && all(/<Key>([^<]*)</g, r.text).length === 4,
    'delimiter: CommonPrefixes p/a/ and 4 keys (bucket path with trailing slash)', r.text);
  got = []; token = undefined; pages = 0;
  do {
    const q = [['list-type', '2'], ['prefix', 'p/'], ['delimiter', '/'], ['max-keys', '1']];
    if (token) q.push(['continuation-token', token]);
    r = await a('GET', 'bkt', undefined, { query: q });
    got.push(...all(/<(?:Key|Prefix)>([^<]*)<\/(?:Key|Prefix)>/g, r.text).filter(k => k !== 'p/'));
    token = (/<NextContinuationToken>([^<]*)</.exec(r.text) || [])[1];
    pages++;
  } while (token && pages < 10);
  check(JSON.stringify(got) === '["p/a","p/a-1","p/a.txt","p/b","p/a/"]', 'delimiter + max-keys 1 pages: each key and common prefix once', JSON.stringify(got));
  r = await a('GET', 'bkt', undefined, { query: [['list-type', '2'], ['prefix', 'odd/'], ['encoding-type', 'url']] });
  check(r.text.includes('<Key>odd%2Fa%20b%2Bc%25d%20%C3%A9~%28x%29%21%2A.txt</Key>') && r.text.includes('<EncodingType>url</EncodingType>'), 'encoding-type=url', r.text);
  r = await a('GET', 'bkt', undefined, { query: [['prefix', 'p/'], ['max-keys', '3']] });
  check(JSON.stringify(all(/<Key>([^<]*)<\/Key>/g, r.text)) === '["p/a","p/a-1","p/a.txt"]' && r.text.includes('<IsTruncated>true'), 'ListObjects v1 (s3rver) in key order', r.text);
  r = await a('GET', 'bkt', undefined, { query: [['list-type', '2'], ['prefix', 'storage']] });
  check(/<StorageClass>STANDARD_IA</.test(r.text), 'list shows the storage class the PUT gave');

  // --- conditional writes
  r = await a('PUT', 'bkt', 'cond', { body: Buffer.from('1'), headers: { 'if-none-match': '*' } });
  const r2 = await a('PUT', 'bkt', 'cond', { body: Buffer.from('2'), headers: { 'if-none-match': '*' } });
  check(r.status === 200 && r2.status === 412 && r2.code === 'PreconditionFailed', 'conditional PUT: 200 then 412 PreconditionFailed');
  const race = await Promise.all([1, 2, 3, 4, 5].map(i => a('PUT', 'bkt', 'race', { body: crypto.randomBytes(2 << 20), headers: { 'if-none-match': '*' } })));
  check(race.filter(x => x.status === 200).length === 1 && race.filter(x => x.status === 412).length === 4, '5 concurrent conditional PUTs: one 200, four 412', race.map(x => x.status).join());
  r = await b('PUT', 'bkt', 'cond', { body: Buffer.from('1'), headers: { 'if-none-match': '*' } });
  r = await b('PUT', 'bkt', 'cond', { body: Buffer.from('2'), headers: { 'if-none-match': '*' } });
  check(r.status === 200, 'without --conditional-writes If-None-Match is ignored');

  // --- multipart
  const parts = [crypto.randomBytes(5 << 20), crypto.randomBytes(5 << 20), crypto.randomBytes(1 << 20)];
  async function upload(key) {
    const c = await a('POST', 'bkt', key, { query: [['uploads', '']] });
    return (/<UploadId>([^<]*)</.exec(c.text) || [])[1];
  }
  async function putParts(key, id, list) {
    const etags = [];
    for (const [i, p] of list.entries()) etags.push((await a('PUT', 'bkt', key, { query: [['partNumber', String(i + 1)], ['uploadId', id]], body: p })).headers.etag);
    return etags;
  }
  const completeXml = etags => Buffer.from('<CompleteMultipartUpload>' + etags.map((e, i) =>
    `<Part><PartNumber>${i + 1}</PartNumber><ETag>${e}</ETag></Part>`).join('') + '</CompleteMultipartUpload>');
  const id = await upload('mp/obj');
  const etags = await putParts('mp/obj', id, parts);
  r = await a('GET', 'bkt', '', { query: [['uploads', ''], ['prefix', 'mp/']] });
  check(r.status === 200 && r.text.includes(`<UploadId>${id}</UploadId>`) && r.text.includes('<Key>mp/obj</Key>') &&
    /<Initiated>\d{4}-\d\d-\d\dT[\d:.]+Z<\/Initiated>/.test(r.text) && r.text.includes('<IsTruncated>false</IsTruncated>'), 'ListMultipartUploads', r.text);
  r = await a('POST', 'bkt', 'mp/obj', { query: [['uploadId', id]], body: completeXml([etags[0], '"0000"', etags[2]]) });
  check(r.status === 400 && r.code === 'InvalidPart', 'complete with a wrong ETag: 400 InvalidPart');
  r = await a('POST', 'bkt', 'mp/obj', { query: [['uploadId', id]], body: completeXml(etags) });
  check(r.status === 200 && /<CompleteMultipartUploadResult>/.test(r.text), 'CompleteMultipartUpload', r.text);
  r = await a('GET', 'bkt', 'mp/obj');
  check(r.status === 200 && r.body.equals(Buffer.concat(parts)), 'multipart object reads back 11 MiB exactly');
  const id2 = await upload('mp/obj');
  const etags2 = await putParts('mp/obj', id2, [Buffer.alloc(1000), Buffer.alloc(10)]);
  r = await a('POST', 'bkt', 'mp/obj', { query: [['uploadId', id2]], body: completeXml(etags2), headers: { 'if-none-match': '*' } });
  check(r.status === 400 && r.code === 'EntityTooSmall', 'part under 5 MiB: 400 EntityTooSmall');
  const etags3 = await putParts('mp/obj', id2, [parts[0], Buffer.alloc(10)]);
  r = await a('POST', 'bkt', 'mp/obj', { query: [['uploadId', id2]], body: completeXml(etags3), headers: { 'if-none-match': '*' } });
  check(r.status === 412, 'conditional CompleteMultipartUpload of an existing key: 412');
  r = await a('DELETE', 'bkt', 'mp/obj', { query: [['uploadId', id2]] });
  check(r.status === 204, 'AbortMultipartUpload: 204');
  r = await a('DELETE', 'bkt', 'mp/obj', { query: [['uploadId', id2]] });
  check(r.status === 404 && r.code === 'NoSuchUpload', 'abort again: 404 NoSuchUpload');
  r = await a('PUT', 'bkt', 'mp/obj', { query: [['partNumber', '1'], ['uploadId', 'deadbeef']], body: Buffer.from('x') });
  check(r.status === 404 && r.code === 'NoSuchUpload', 'UploadPart to an unknown upload: 404 NoSuchUpload');
  r = await a('GET', 'bkt', '', { query: [['uploads', '']] });
  check(!r.text.includes('<Upload>'), 'no uploads left', r.text);
  const id4 = await upload('mp/old');
  await control(A.port, 'POST', '/__pgkeep/age-uploads?bucket=bkt&seconds=7200');
  r = await a('GET', 'bkt', '', { query: [['uploads', '']] });
  const initiated = Date.parse((/<Initiated>([^<]*)</.exec(r.text) || [])[1]);
  check(Date.now() - initiated > 7100e3, 'age-uploads backdates Initiated');
  await a('DELETE', 'bkt', 'mp/old', { query: [['uploadId', id4]] });

  // --- archive marker
  r = await control(A.port, 'POST', '/__pgkeep/archive?bucket=bkt&key=p%2Fb');
  check(r.status === 200, 'archive endpoint');
  r = await a('GET', 'bkt', undefined, { query: [['list-type', '2'], ['prefix', 'p/b']] });
  check(/<Key>p\/b<\/Key>.*<StorageClass>GLACIER<\/StorageClass>/.test(r.text), 'list shows GLACIER', r.text);
  r = await a('GET', 'bkt', 'p/b');
  check(r.status === 403 && r.code === 'InvalidObjectState', 'GET archived: 403 InvalidObjectState');
  r = await a('HEAD', 'bkt', 'p/b');
  check(r.status === 200 && r.headers['x-amz-storage-class'] === 'GLACIER', 'HEAD archived: 200 with its storage class (as S3)');
  await a('PUT', 'bkt', 'p/b', { body: Buffer.from('new') });
  r = await a('GET', 'bkt', 'p/b');
  check(r.status === 200 && r.text === 'new', 'a new PUT of the key is STANDARD again');

  // --- faults and stats
  await control(A.port, 'DELETE', '/__pgkeep/stats');
  r = await control(A.port, 'POST', '/__pgkeep/faults', [
    { method: 'PUT', match: 'flaky', action: 'status', status: 503, code: 'SlowDown', count: 2 },
    { method: 'PUT', match: 'partNumber=2', action: 'reset', count: 1 },
    { match: 'midbody', action: 'reset-mid-body' }]);
  check(r.status === 200, 'fault list accepted');
  const s = [];
  for (let i = 0; i < 3; i++) s.push(await a('PUT', 'bkt', 'flaky', { body: Buffer.from('abc') }));
  check(s[0].status === 503 && s[0].code === 'SlowDown' && s[1].status === 503 && s[2].status === 200, 'status fault: 503 SlowDown twice, then 200');
  const err = async p => { try { await p; return 'answered'; } catch (e) { return e.code; } };
  const id5 = await upload('mp/reset');
  r = await err(a('PUT', 'bkt', 'mp/reset', { query: [['partNumber', '2'], ['uploadId', id5]], body: crypto.randomBytes(1 << 20) }));
  check(r === 'ECONNRESET' || r === 'EPIPE', 'reset fault: connection dropped', r);
  r = await err(a('PUT', 'bkt', 'midbody', { body: crypto.randomBytes(8 << 20) }));
  check(r === 'ECONNRESET' || r === 'EPIPE', 'reset-mid-body fault: connection dropped', r);
  await control(A.port, 'POST', '/__pgkeep/faults', [{ method: 'GET', match: 'flaky', action: 'reset-mid-body' }, { method: 'GET', match: 'flaky', action: 'status', status: 500 }]);
  r = await err(a('GET', 'bkt', 'flaky'));
  check(r === 'ECONNRESET' || r === 'EPIPE' || r === 'ECONNREFUSED' || r === 'UND_ERR_SOCKET' || r === undefined, 'reset-mid-body on a GET (no body): dropped', r);
  r = await a('GET', 'bkt', 'flaky');
  check(r.status === 500 && r.code === 'InternalError', 'status 500 fault: InternalError');
  r = await a('PUT', 'bkt', 'midbody', { body: Buffer.from('ok') });
  check(r.status === 200, 'faults used up');
  r = await control(A.port, 'GET', '/__pgkeep/stats');
  const st = r.json;
  check(st.faults_used === 6 && st.requests.PUT === 6 && st.requests.POST === 1 && st.requests.GET === 2 && st.bytes_in >= 4 << 20 && st.bytes_in < 9 << 20 && st.bytes_out > 0,
    'stats count requests, bytes and faults', JSON.stringify(st));
  r = await control(A.port, 'DELETE', '/__pgkeep/faults');
  check(r.status === 200, 'faults cleared');

  // --- curl's own signer (curl 7.88 signs every header it is given)
  if (spawnSync('curl', ['--version']).status === 0) {
    const file = path.join(tmp, 'curl-body');
    fs.writeFileSync(file, crypto.randomBytes(300000));
    const curl = (secret, method = 'PUT', key = 'curl/some/key') => spawnSync('curl', ['-sS', '-o', path.join(tmp, 'curl-out'), '-w', '%{http_code}',
      '--aws-sigv4', 'aws:amz:us-east-1:s3', '--user', `${AK}:${secret}`, '-H', `x-amz-content-sha256: ${sha(method === 'PUT' ? fs.readFileSync(file) : '')}`,
      ...(method === 'PUT' ? ['-H', 'Content-Type: application/octet-stream', '-X', 'PUT', '--data-binary', `@${file}`] : []),
      `http://127.0.0.1:${A.port}/bkt/${key}`], { encoding: 'utf8' }).stdout;
    check(curl(SK) === '200', 'curl --aws-sigv4 PUT: 200');
    check(curl(SK, 'GET') === '200' && fs.readFileSync(path.join(tmp, 'curl-out')).equals(fs.readFileSync(file)), 'curl --aws-sigv4 GET: same bytes');
    check(curl('wrong') === '403', 'curl with a wrong secret: 403');
  } else console.log('skip curl checks: no curl');

  // --- TLS and SIGTERM
  const cert = path.join(tmp, 'cert.pem'), key = path.join(tmp, 'key.pem');
  const gen = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1']);
  if (gen.status === 0) {
    const T = await start(['--dir', path.join(tmp, 't'), '--port', '0', '--bucket', 'bkt', '--tls-cert', cert, '--tls-key', key]);
    await request(T.port, 'PUT', 'bkt', 'k', { body: Buffer.from('tls'), tls: true });
    r = await request(T.port, 'GET', 'bkt', 'k', { tls: true });
    check(r.status === 200 && r.text === 'tls', 'TLS: signed PUT and GET');
    T.child.kill('SIGTERM');
  } else console.log('skip TLS check: no openssl');
  const code = await new Promise(res => { A.child.removeAllListeners('exit'); A.child.on('exit', res); A.child.kill('SIGTERM'); });
  check(code === 0 && A.stdout() === `listening on ${A.port}\n`, 'SIGTERM: exit 0; stdout was only the listening line');
} finally {
  for (const s of [A, B]) s.child.removeAllListeners('exit'), s.child.kill('SIGTERM');
}
fs.rmSync(tmp, { recursive: true, force: true });
console.log(`${checks - failures}/${checks} checks passed`);
process.exit(failures ? 1 : 0);
