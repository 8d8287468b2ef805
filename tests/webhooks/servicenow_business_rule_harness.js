// Runs the XLA Bridge Script Include (integrations/servicenow/src/XLABridgeEvents.js) under Node
// with stand-ins for the ServiceNow APIs it uses, so the Business Rule's real code can be checked
// against the real endpoint. Reads a scenario as JSON on stdin, prints what happened as JSON.
//
// Scenario: {source, properties, user, now_ms, steps: [{queue: {record, previous}} | {deliver: true}]}
// A record: {table, operation, values: {...}, changed: [...], journal: {comments|work_notes: text}}.
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const vm = require('vm');
const {Worker} = require('worker_threads');

const scenario = JSON.parse(fs.readFileSync(0, 'utf8'));
const out = {queued: [], scheduled: [], requests: [], logs: [], results: []};
let nowMs = scenario.now_ms;

class FakeRecord {
  constructor(spec) {
    this.spec = spec;
    return new Proxy(this, {
      get(target, name) {
        if (name in target || typeof name !== 'string') return target[name];
        const journal = (spec.journal || {})[name];
        // Adding a journal entry is a change of that journal field, as on an instance.
        const changed = (spec.changed || []).includes(name) || journal !== undefined;
        return {
          changes: () => changed,
          getJournalEntry: () => journal === undefined ? '' :
            `2026-11-23 10:00:00 - ${scenario.user} (${name === 'comments' ? 'Additional comments' : 'Work notes'})\n${journal}\n\n`,
        };
      },
    });
  }
  operation() { return this.spec.operation; }
  getRecordClassName() { return this.spec.table; }
  getUniqueValue() { return this.spec.values.sys_id; }
  isValidField(name) { return name in this.spec.values || name in (this.spec.journal || {}); }
  getValue(name) { const v = this.spec.values[name]; return v === undefined || v === '' ? null : v; }
}

class GlideDateTime {
  constructor() { this.ms = nowMs; }
  getNumericValue() { return this.ms; }
  addSeconds(seconds) { this.ms += seconds * 1000; }
}

class RESTMessageV2 {
  constructor(name, method) { this.request = {name, method, headers: {}}; }
  setEndpoint(url) { this.request.endpoint = url; }
  setRequestHeader(name, value) { this.request.headers[name] = value; }
  setRequestBody(body) { this.request.body = body; }
  setHttpTimeout(ms) { this.request.timeout_ms = ms; }
  execute() {
    // RESTMessageV2.execute() blocks: a worker thread does the HTTP call while this one waits.
    const shared = new Int32Array(new SharedArrayBuffer(8));
    http().postMessage({request: this.request, shared});
    Atomics.wait(shared, 0, 0);
    const status = shared[1];
    this.request.status = status;
    out.requests.push(this.request);
    return {getStatusCode: () => status};
  }
}

let httpWorker = null;
function http() {
  if (httpWorker === null) {
    httpWorker = new Worker(`
      const {parentPort} = require('worker_threads');
      parentPort.on('message', ({request, shared}) => {
        const answer = (status) => { shared[1] = status; Atomics.store(shared, 0, 1); Atomics.notify(shared, 0); };
        fetch(request.endpoint, {method: 'POST', headers: request.headers, body: request.body})
          .then((response) => response.arrayBuffer().then(() => answer(response.status)), () => answer(0));
      });`, {eval: true});
    httpWorker.unref();
  }
  return httpWorker;
}

const gs = {
  getProperty: (name, fallback) => name in scenario.properties ? scenario.properties[name] : fallback,
  getUserName: () => scenario.user,
  eventQueue: (name, record, parm1, parm2) => out.queued.push({name, parm1, parm2, record: record.spec}),
  eventQueueScheduled: (name, record, parm1, parm2, when) =>
    out.scheduled.push({name, parm1, parm2, delay_s: (when.getNumericValue() - nowMs) / 1000}),
  error: (text) => out.logs.push(['error', text]),
  warn: (text) => out.logs.push(['warn', text]),
  info: (text) => out.logs.push(['info', text]),
};

const context = vm.createContext({
  gs, GlideDateTime,
  Class: {create: () => function () { this.initialize.apply(this, arguments); }},
  GlideStringUtil: {base64Encode: (text) => Buffer.from(text, 'utf8').toString('base64')},
  GlideCertificateEncryption: class {
    generateMac(key, algorithm, data) {
      if (algorithm !== 'HmacSHA256') throw new Error('unexpected algorithm ' + algorithm);
      return crypto.createHmac('sha256', Buffer.from(key, 'base64')).update(Buffer.from(data, 'utf8')).digest('base64');
    }
  },
  sn_ws: {RESTMessageV2},
});
vm.runInContext(fs.readFileSync(scenario.source, 'utf8') + '\nthis.XLABridgeEvents = XLABridgeEvents;', context);

let delivered = 0;
for (const step of scenario.steps) {
  if (step.queue) {
    const current = new FakeRecord(step.queue.record);
    const previous = step.queue.previous ? new FakeRecord(step.queue.previous) : null;
    out.results.push(new context.XLABridgeEvents().queue(current, previous));
  } else if (step.deliver) {
    for (; delivered < out.queued.length; delivered++) {
      const item = out.queued[delivered];
      out.results.push(new context.XLABridgeEvents().deliver(item.parm1, item.parm2, new FakeRecord(item.record)));
    }
  } else if (step.deliver_body) {
    out.results.push(new context.XLABridgeEvents().deliver(step.deliver_body, step.state, new FakeRecord({values: {}})));
  }
}
process.stdout.write(JSON.stringify(out));
