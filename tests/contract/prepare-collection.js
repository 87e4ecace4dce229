#!/usr/bin/env node
// Prepares the Postman collection that openapi-to-postmanv2 converted from the served
// OpenAPI document, for .ci/newman.sh. It changes no request's method, path or body; it
//   1. checks that every operation of the document became exactly one request;
//   2. follows the document's own `links` (OpenAPI 3 Link Objects, on 2xx responses):
//      the request of a link's operation saves the linked values (`$response.body#/data/id`,
//      `$request.path.id`, ...) into collection variables, and the request of the target
//      operation sends those variables for the linked parameters. A variable starts as the
//      converter's value (the parameter's example), which stays in use until a link fills
//      it; a link that finds nothing (an empty list) leaves it as it was;
//   3. orders the requests so a link's operation runs before its target, creates
//      (POST on a path without parameters) first, deletes last; folders (tags) keep their
//      requests and are ordered so links between folders hold;
//   4. sends a fresh `{{$guid}}` as every `Idempotency-Key` (one logical request each);
//   5. adds a collection-level test: every response is 2xx;
//   6. declares the `bearerToken` variable the converted requests use, empty.
// Usage: node prepare-collection.js OPENAPI_JSON CONVERTED_COLLECTION OUTPUT_COLLECTION
// Prints the run order. Exits 1 (with the reason) when the collection does not match the
// document or the links cannot be ordered.
'use strict';

const fs = require('fs');

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

function fail(message) {
  process.stderr.write(`prepare-collection: ${message}\n`);
  process.exit(1);
}

function segmentsKey(segments) {
  return segments
    .filter((s) => s !== '')
    .map((s) => (/^\{.*\}$/.test(s) || s.startsWith(':') ? '{}' : s))
    .join('/');
}

function operationsOf(doc) {
  const byKey = new Map();
  const byId = new Map();
  let index = 0;
  for (const [path, item] of Object.entries(doc.paths || {})) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const key = `${method.toUpperCase()} ${segmentsKey(path.split('/'))}`;
      const params = [...(item.parameters || []), ...(op.parameters || [])];
      const entry = {
        key,
        index: index++,
        method: method.toUpperCase(),
        path,
        id: op.operationId || key,
        params,
        links: [],
        requests: [],
      };
      for (const [status, response] of Object.entries(op.responses || {})) {
        if (!/^2/.test(status)) continue;
        for (const [name, link] of Object.entries((response && response.links) || {})) {
          if (!link.operationId) {
            fail(`link ${name} of ${entry.id} uses operationRef; only operationId is supported`);
          }
          entry.links.push({ name, target: link.operationId, parameters: link.parameters || {} });
        }
      }
      byKey.set(key, entry);
      byId.set(entry.id, entry);
    }
  }
  return { byKey, byId };
}

function requestsOf(items, folder, out) {
  for (const item of items) {
    if (Array.isArray(item.item)) requestsOf(item.item, item, out);
    else if (item.request) out.push({ item, folder });
  }
  return out;
}

function urlPath(request) {
  const url = request.url;
  if (typeof url === 'string') return url.replace(/^\{\{baseUrl\}\}/, '').split('?')[0].split('/');
  return url.path || [];
}

// The (location, name) a link parameter names on the target operation.
function linkTarget(op, name) {
  const m = /^(path|query|header|cookie)\.(.+)$/.exec(name);
  if (m) return { in: m[1], name: m[2] };
  for (const where of ['path', 'query', 'header', 'cookie']) {
    if (op.params.some((p) => p.in === where && p.name === name)) return { in: where, name };
  }
  return null;
}

function variableName(targetId, where, name) {
  return `link_${targetId}_${where}_${name}`.replace(/[^A-Za-z0-9_]/g, '_');
}

function currentValue(request, where, name) {
  if (where === 'path') {
    const v = (request.url.variable || []).find((x) => x.key === name);
    return v ? v.value : undefined;
  }
  if (where === 'query') {
    const q = (request.url.query || []).find((x) => x.key === name);
    return q ? q.value : undefined;
  }
  if (where === 'header') {
    const h = (request.header || []).find((x) => x.key.toLowerCase() === name.toLowerCase());
    return h ? h.value : undefined;
  }
  return undefined;
}

function setValue(request, where, name, value) {
  if (where === 'path') {
    const v = (request.url.variable || []).find((x) => x.key === name);
    if (!v) return false;
    v.value = value;
    return true;
  }
  if (where === 'query') {
    const q = (request.url.query || []).find((x) => x.key === name);
    if (!q) return false;
    q.value = value;
    q.disabled = false;
    return true;
  }
  if (where === 'header') {
    const h = (request.header || []).find((x) => x.key.toLowerCase() === name.toLowerCase());
    if (!h) return false;
    h.value = value;
    h.disabled = false;
    return true;
  }
  return false;
}

// The Postman sandbox code that resolves an OpenAPI runtime expression after a response.
const RESOLVER = `
function auraResolve(expression, capture) {
  if (typeof expression !== 'string' || expression.charAt(0) !== '$') return expression;
  if (expression === '$statusCode') return pm.response.code;
  if (expression === '$method') return pm.request.method;
  if (expression.indexOf('$response.body') === 0) {
    var value;
    try { value = pm.response.json(); } catch (e) { return undefined; }
    var pointer = expression.slice('$response.body'.length).replace(/^#/, '');
    var parts = pointer === '' ? [] : pointer.split('/').slice(1);
    for (var i = 0; i < parts.length; i++) {
      if (value === null || value === undefined) return undefined;
      value = value[parts[i].replace(/~1/g, '/').replace(/~0/g, '~')];
    }
    return value;
  }
  if (expression.indexOf('$response.header.') === 0) {
    return pm.response.headers.get(expression.slice('$response.header.'.length));
  }
  if (expression.indexOf('$request.path.') === 0) {
    // After sending, the request's path variables are gone: read the segment that held
    // the parameter (its position is known from the converted request).
    var segment = pm.request.url.path[capture.pathSegment];
    return segment === undefined ? undefined : pm.variables.replaceIn(String(segment));
  }
  if (expression.indexOf('$request.query.') === 0) {
    var query = pm.request.url.query.one(expression.slice('$request.query.'.length));
    return query ? pm.variables.replaceIn(String(query.value)) : undefined;
  }
  if (expression.indexOf('$request.header.') === 0) {
    var header = pm.request.headers.get(expression.slice('$request.header.'.length));
    return header === undefined ? undefined : pm.variables.replaceIn(String(header));
  }
  return undefined;
}`;

function captureScript(captures) {
  return [
    '// OpenAPI links of this operation (added by tests/contract/prepare-collection.js):',
    '// save the values they pass to later requests.',
    RESOLVER,
    `var auraCaptures = ${JSON.stringify(captures, null, 2)};`,
    'auraCaptures.forEach(function (capture) {',
    '  if (pm.response.code < 200 || pm.response.code > 299) return;',
    '  var value = auraResolve(capture.expression, capture);',
    '  if (value === undefined || value === null) {',
    "    console.log('link ' + capture.link + ': ' + capture.expression + ' found nothing; ' + capture.variable + ' keeps its value');",
    '    return;',
    '  }',
    "  pm.collectionVariables.set(capture.variable, typeof value === 'object' ? JSON.stringify(value) : String(value));",
    '});',
  ].join('\n');
}

const STATUS_TEST = [
  '// Added by tests/contract/prepare-collection.js: every request of the collection must succeed.',
  "pm.test('status is 2xx', function () {",
  "  var body = '';",
  '  try { body = pm.response.text().slice(0, 400); } catch (e) {}',
  '  pm.expect(pm.response.code, pm.request.method + " " + pm.request.url.getPath() + " answered " +',
  '    pm.response.code + ": " + body).to.be.within(200, 299);',
  '});',
].join('\n');

// Kahn's algorithm; among the nodes ready to run, the lowest (rank, index) goes first.
function topoOrder(nodes, edges, rankOf, label) {
  const incoming = new Map(nodes.map((n) => [n, 0]));
  const next = new Map(nodes.map((n) => [n, []]));
  for (const [a, b] of edges) {
    if (a === b) continue;
    next.get(a).push(b);
    incoming.set(b, incoming.get(b) + 1);
  }
  const ready = nodes.filter((n) => incoming.get(n) === 0);
  const order = [];
  while (ready.length) {
    ready.sort((x, y) => rankOf(x) - rankOf(y));
    const n = ready.shift();
    order.push(n);
    for (const m of next.get(n)) {
      incoming.set(m, incoming.get(m) - 1);
      if (incoming.get(m) === 0) ready.push(m);
    }
  }
  if (order.length !== nodes.length) {
    const stuck = nodes.filter((n) => !order.includes(n)).map(label);
    fail(`the document's links form a cycle among: ${stuck.join(', ')}`);
  }
  return order;
}

function main() {
  const [openapiPath, inPath, outPath] = process.argv.slice(2);
  if (!outPath) fail('usage: prepare-collection.js OPENAPI_JSON CONVERTED_COLLECTION OUTPUT_COLLECTION');
  const doc = JSON.parse(fs.readFileSync(openapiPath, 'utf8'));
  const collection = JSON.parse(fs.readFileSync(inPath, 'utf8'));
  const { byKey, byId } = operationsOf(doc);

  // 1. One request per operation.
  const requests = requestsOf(collection.item || [], null, []);
  for (const r of requests) {
    const key = `${r.item.request.method.toUpperCase()} ${segmentsKey(urlPath(r.item.request))}`;
    const op = byKey.get(key);
    if (!op) fail(`request "${r.item.name}" (${key}) matches no operation of the document`);
    op.requests.push(r);
    r.op = op;
  }
  for (const op of byKey.values()) {
    if (op.requests.length !== 1) {
      fail(`operation ${op.id} became ${op.requests.length} requests in the collection (expected 1)`);
    }
  }

  // 2. Links: captures on the source, variables on the target.
  const variables = new Map((collection.variable || []).map((v) => [v.key, v]));
  const edges = [];
  for (const op of byKey.values()) {
    const captures = [];
    for (const link of op.links) {
      const target = byId.get(link.target);
      if (!target) fail(`link ${link.name} of ${op.id} names unknown operation ${link.target}`);
      if (op.method !== 'DELETE') edges.push([op, target]);
      for (const [param, expression] of Object.entries(link.parameters)) {
        const where = linkTarget(target, param);
        if (!where) fail(`link ${link.name} of ${op.id}: ${link.target} has no parameter ${param}`);
        const variable = variableName(target.id, where.in, where.name);
        const request = target.requests[0].item.request;
        const current = currentValue(request, where.in, where.name);
        if (current !== `{{${variable}}}`) {
          if (!variables.has(variable)) {
            variables.set(variable, { key: variable, value: current === undefined ? '' : String(current) });
          }
          if (!setValue(request, where.in, where.name, `{{${variable}}}`)) {
            fail(`link ${link.name} of ${op.id}: request of ${target.id} has no ${where.in} parameter ${where.name}`);
          }
        }
        const capture = { link: `${op.id}.${link.name}`, expression: String(expression), variable };
        const fromPath = /^\$request\.path\.(.+)$/.exec(capture.expression);
        if (fromPath) {
          const segments = urlPath(op.requests[0].item.request);
          capture.pathSegment = segments.indexOf(`:${fromPath[1]}`);
          if (capture.pathSegment < 0) fail(`link ${capture.link}: ${op.id} has no path parameter ${fromPath[1]}`);
        }
        captures.push(capture);
      }
    }
    if (captures.length) {
      const item = op.requests[0].item;
      item.event = (item.event || []).filter((e) => e.listen !== 'test');
      item.event.push({ listen: 'test', script: { type: 'text/javascript', exec: captureScript(captures).split('\n') } });
    }
  }

  // 4. A fresh Idempotency-Key per request.
  for (const r of requests) {
    for (const h of r.item.request.header || []) {
      if (h.key.toLowerCase() === 'idempotency-key') h.value = '{{$guid}}';
    }
  }

  // 3. Order: links first, creates early, deletes last; then folders.
  const ops = [...byKey.values()];
  const rank = (op) => {
    const create = op.method === 'POST' && !op.path.includes('{');
    const tier = create ? 0 : op.method === 'DELETE' ? 2 : 1;
    return tier * 100000 + op.index;
  };
  const order = topoOrder(ops, edges, rank, (op) => op.id);
  const position = new Map(order.map((op, i) => [op, i]));
  const placeOf = (op) => op.requests[0].folder; // null: top level
  const folders = [...new Set(ops.map(placeOf))];
  const folderIndex = new Map((collection.item || []).map((it, i) => [it, i]));
  const folderEdges = [];
  for (const [a, b] of edges) {
    if (placeOf(a) !== placeOf(b)) folderEdges.push([placeOf(a), placeOf(b)]);
  }
  const folderOrder = topoOrder(
    folders,
    folderEdges,
    (f) => (f === null ? -1 : folderIndex.get(f) ?? 0),
    (f) => (f ? f.name : '(top level)'),
  );
  const sortItems = (items) =>
    items
      .filter((it) => it.request)
      .sort((x, y) => position.get(ops.find((o) => o.requests[0].item === x)) -
        position.get(ops.find((o) => o.requests[0].item === y)));
  for (const f of folders) {
    if (f) f.item = sortItems(f.item);
  }
  const topLevel = sortItems(collection.item || []);
  collection.item = folderOrder.flatMap((f) => (f === null ? topLevel : [f]));

  // 5. Every response 2xx.
  collection.event = (collection.event || []).filter((e) => e.listen !== 'test');
  collection.event.push({ listen: 'test', script: { type: 'text/javascript', exec: STATUS_TEST.split('\n') } });

  // 6. The variables the run sets.
  if (!variables.has('baseUrl')) variables.set('baseUrl', { key: 'baseUrl', value: '' });
  if (!variables.has('bearerToken')) variables.set('bearerToken', { key: 'bearerToken', value: '' });
  collection.variable = [...variables.values()];

  fs.writeFileSync(outPath, JSON.stringify(collection, null, 2));
  const lines = [];
  for (const f of folderOrder) {
    const items = f === null ? topLevel : f.item;
    for (const it of items) {
      const op = ops.find((o) => o.requests[0].item === it);
      lines.push(`  ${f ? f.name + ' / ' : ''}${op.id} (${op.method} ${op.path})`);
    }
  }
  process.stdout.write(`prepared ${requests.length} requests, ${edges.length} link(s) followed; run order:\n${lines.join('\n')}\n`);
}

main();
