/*
 * XLABridgeEvents: turns a change of a task record into the signed XLA Bridge event and
 * delivers it (Script Include, global scope, server side only).
 *
 * The Business Rule "XLA Bridge: queue ticket event" calls queue(current, previous) after
 * every insert, update and delete of a task; the event is placed on the event queue and the
 * Script Action "XLA Bridge: send ticket event" calls deliver(...) in the background, so no
 * user waits for the network. The contract of the body and headers is docs/servicenow.md in
 * the XLA Bridge repository.
 *
 * System properties: x_xla_bridge.enabled, .endpoint, .secret (password2), .fields,
 * .tables, .ignore_users, .max_attempts.
 */
var XLABridgeEvents = Class.create();

XLABridgeEvents.EVENT_NAME = 'x_xla_bridge.ticket_event';
XLABridgeEvents.DEFAULT_FIELDS = 'number,state,priority,caller_id,assigned_to,assignment_group,cmdb_ci,' +
    'category,contact_type,reassignment_count,reopen_count,close_code,sys_updated_on';
XLABridgeEvents.DEFAULT_TABLES = 'incident,change_request,sc_req_item';
// The event queue keeps parm1 in a 4000-character column: bodies are kept below it.
XLABridgeEvents.MAX_BODY = 3900;
// Answers after which sending again cannot help (the payload itself was refused).
XLABridgeEvents.PERMANENT = [400, 404, 405, 413, 415, 422];

XLABridgeEvents.prototype = {
    initialize: function () {
        this.tables = this._list(gs.getProperty('x_xla_bridge.tables', XLABridgeEvents.DEFAULT_TABLES));
        this.fields = this._list(gs.getProperty('x_xla_bridge.fields', XLABridgeEvents.DEFAULT_FIELDS));
        this.ignoredUsers = this._list(gs.getProperty('x_xla_bridge.ignore_users', ''));
    },

    /* Business Rule entry point: queue the event of this change, unless there is nothing to tell. */
    queue: function (current, previous) {
        var operation = String(current.operation());
        if (!this.shouldSend(current, operation)) {
            return null;
        }
        var event = this.buildEvent(current, previous, operation);
        if (event === null) {
            return null;
        }
        var body = this.serialize(event);
        gs.eventQueue(XLABridgeEvents.EVENT_NAME, current, body, JSON.stringify({attempt: 1}));
        return body;
    },

    shouldSend: function (current, operation) {
        if (gs.getProperty('x_xla_bridge.enabled', 'true') != 'true') {
            return false;
        }
        if (operation != 'insert' && operation != 'update' && operation != 'delete') {
            return false;
        }
        if (this.tables.indexOf(String(current.getRecordClassName())) < 0) {
            return false;
        }
        // Updates made by XLA Bridge itself (its integration user) would only echo back.
        return this.ignoredUsers.indexOf(String(gs.getUserName())) < 0;
    },

    /* The event body (a plain object), or null for an update that changed nothing worth telling. */
    buildEvent: function (current, previous, operation) {
        var changed = [];
        var prior = {};
        var record = {};
        for (var i = 0; i < this.fields.length; i++) {
            var name = this.fields[i];
            if (!current.isValidField(name)) {
                continue;
            }
            record[name] = this._value(current, name);
            if (operation == 'insert' && record[name] !== '') {
                changed.push(name);
            } else if (operation == 'update' && current[name].changes()) {
                changed.push(name);
                if (previous) {
                    prior[name] = this._value(previous, name);
                }
            }
        }
        var comment = this.journalEntry(current, operation);
        if (comment !== null) {
            changed.push(comment['public'] ? 'comments' : 'work_notes');
        }
        if (operation == 'update' && !this._meaningful(changed)) {
            return null;
        }
        var event = {
            event_version: 1,
            table: String(current.getRecordClassName()),
            sys_id: String(current.getUniqueValue()),
            number: this._value(current, 'number'),
            operation: operation,
            sys_mod_count: parseInt(this._value(current, 'sys_mod_count'), 10) || 0,
            sys_updated_on: this._value(current, 'sys_updated_on'),
            sys_updated_by: this._value(current, 'sys_updated_by') || String(gs.getUserName()),
            changed_fields: changed,
            record: record
        };
        if (operation == 'update') {
            event.previous = prior;
        }
        if (comment !== null) {
            event.comment = comment;
        }
        return event;
    },

    /* The comment or work note added in this update: {text, author, public}, or null. */
    journalEntry: function (current, operation) {
        if (operation != 'update' && operation != 'insert') {
            return null;
        }
        var kinds = [['comments', true], ['work_notes', false]];
        for (var k = 0; k < kinds.length; k++) {
            var name = kinds[k][0];
            if (current.isValidField(name) && current[name].changes()) {
                var text = String(current[name].getJournalEntry(1) || '');
                // The newest entry starts with a "<date> - <person> (<field>)" line.
                text = text.replace(/^[^\n]*\n/, '');
                return {text: text.substring(0, 1000), author: String(gs.getUserName()), 'public': kinds[k][1]};
            }
        }
        return null;
    },

    /* JSON with every non-ASCII character escaped: the signed bytes are the sent bytes in any charset. */
    serialize: function (event) {
        var body = this._ascii(JSON.stringify(event));
        if (body.length > XLABridgeEvents.MAX_BODY && event.comment) {
            event.comment.text = event.comment.text.substring(0, 200);
            body = this._ascii(JSON.stringify(event));
        }
        if (body.length > XLABridgeEvents.MAX_BODY) {
            // Keep what the lifecycle is decided from; XLA Bridge reads the rest from the record.
            var kept = {};
            var essential = ['number', 'state', 'assigned_to', 'assignment_group', 'reassignment_count',
                'reopen_count', 'close_code', 'sys_updated_on'];
            for (var i = 0; i < essential.length; i++) {
                if (event.record.hasOwnProperty(essential[i])) {
                    kept[essential[i]] = String(event.record[essential[i]]).substring(0, 100);
                }
            }
            event.record = kept;
            delete event.previous;
            body = this._ascii(JSON.stringify(event));
        }
        return body;
    },

    /* Script Action entry point: send one queued event; schedule a retry when it did not land. */
    deliver: function (body, state, current) {
        var attempt = 1;
        try {
            attempt = JSON.parse(state).attempt || 1;
        } catch (ignored) {
            attempt = 1;
        }
        var event = JSON.parse(body);
        var id = event.table + '.' + event.sys_id + '.' + event.sys_mod_count;
        var timestamp = Math.floor(new GlideDateTime().getNumericValue() / 1000);
        var status = this._post(body, id, timestamp);
        if (status >= 200 && status < 300) {
            return status;
        }
        if (XLABridgeEvents.PERMANENT.indexOf(status) >= 0) {
            gs.error('XLA Bridge: event ' + id + ' refused with HTTP ' + status + '; see the XLA Bridge quarantine');
            return status;
        }
        var maxAttempts = parseInt(gs.getProperty('x_xla_bridge.max_attempts', '8'), 10);
        if (attempt >= maxAttempts) {
            gs.error('XLA Bridge: event ' + id + ' not delivered after ' + attempt + ' attempts (last HTTP ' +
                status + '); XLA Bridge reconciliation will pick the change up');
            return status;
        }
        var when = new GlideDateTime();
        when.addSeconds(this.retryDelay(attempt));
        gs.eventQueueScheduled(XLABridgeEvents.EVENT_NAME, current, body, JSON.stringify({attempt: attempt + 1}),
            when);
        return status;
    },

    /* Standard Webhooks signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">. */
    sign: function (body, id, timestamp) {
        var secret = String(gs.getProperty('x_xla_bridge.secret', ''));
        // generateMac wants the key base64-encoded: a whsec_ secret already is.
        var key = secret.indexOf('whsec_') === 0 ? secret.substring(6) : GlideStringUtil.base64Encode(secret);
        var mac = new GlideCertificateEncryption().generateMac(key, 'HmacSHA256', id + '.' + timestamp + '.' + body);
        return 'v1,' + mac;
    },

    /* Seconds before attempt + 1: doubling from 30 s, at most an hour, with jitter. */
    retryDelay: function (attempt) {
        var ceiling = Math.min(3600, 30 * Math.pow(2, attempt - 1));
        return Math.floor(ceiling / 2 + Math.random() * ceiling / 2);
    },

    _post: function (body, id, timestamp) {
        try {
            var message = new sn_ws.RESTMessageV2('XLA Bridge', 'post');
            message.setEndpoint(gs.getProperty('x_xla_bridge.endpoint'));
            message.setRequestHeader('Content-Type', 'application/json');
            message.setRequestHeader('webhook-id', id);
            message.setRequestHeader('webhook-timestamp', String(timestamp));
            message.setRequestHeader('webhook-signature', this.sign(body, id, timestamp));
            message.setRequestBody(body);
            message.setHttpTimeout(10000);
            var response = message.execute();
            return response.getStatusCode();
        } catch (e) {
            gs.warn('XLA Bridge: sending event ' + id + ' failed: ' + e);
            return 0;
        }
    },

    _meaningful: function (changed) {
        for (var i = 0; i < changed.length; i++) {
            if (changed[i].indexOf('sys_') !== 0) {
                return true;
            }
        }
        return false;
    },

    _value: function (record, name) {
        var value = record.getValue(name);
        return value === null || value === undefined ? '' : String(value);
    },

    _ascii: function (text) {
        return text.replace(/[\u007f-\uffff]/g, function (character) {
            return '\\u' + ('0000' + character.charCodeAt(0).toString(16)).slice(-4);
        });
    },

    _list: function (text) {
        var items = String(text || '').split(',');
        var result = [];
        for (var i = 0; i < items.length; i++) {
            var item = items[i].replace(/^\s+|\s+$/g, '');
            if (item) {
                result.push(item);
            }
        }
        return result;
    },

    type: 'XLABridgeEvents'
};
