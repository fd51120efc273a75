// XS-side half of host-sim/xs-bridge.ts. Evaluated inside the xsnap worker, as a script, before a
// bundle: `(<this function>)(globalThis, config)`. It plays the board runtime's modules in plain
// JavaScript on top of the two calls xsnap offers:
//   issueCommand(ArrayBuffer) -> ArrayBuffer   XS asks Node, synchronously (JSON request, JSON reply)
//   globalThis.handleCommand(ArrayBuffer)      Node delivers events into XS (a JSON array of events)
// Moddable: `embedded:io/socket/tcp` (ECMA-419 TCP, number and buffer formats), `net` (Net.resolve),
// `socket` (classic Socket), `securesocket` (absent: throws), `timer`, `time`; exposed as the globals
// __xs_tcp, __xs_net, __xs_socket, __xs_securesocket, __xs_timer, __xs_time (module namespaces) that
// the iife form of the Moddable bundle takes.
// Espruino: require('net'), E.toString/E.toUint8Array, getTime(), setTimeout/setInterval/
// clearTimeout/clearInterval, data as Strings of bytes.
// The app running after the bundle reports to the test with report(object).
// Test infrastructure, not device code: it allocates freely.
(function (G, cfg) {
  'use strict';
  var issue = G.issueCommand;
  var enc = new G.TextEncoder();
  var dec = new G.TextDecoder();
  var JSONp = JSON.parse, JSONs = JSON.stringify;
  var PromiseR = Promise;
  var fromCharCode = String.fromCharCode;
  var IPV4 = /^\d+\.\d+\.\d+\.\d+$/;

  function call(m) {
    var r = issue(enc.encode(JSONs(m)).buffer);
    return r.byteLength ? JSONp(dec.decode(r)) : undefined;
  }

  function describe(e) {
    var s;
    try { s = String(e); } catch (x) { s = 'unprintable exception'; }
    var st = e && typeof e === 'object' && typeof e.stack === 'string' ? e.stack : '';
    return { message: s, stack: st };
  }

  /** Runs a runtime callback like the device's event loop would; an exception is reported, not fatal. */
  function guard(where, fn, self, a, b) {
    try {
      return fn.call(self, a, b);
    } catch (e) {
      var d = describe(e);
      call({ op: 'uncaught', where: where, message: d.message, stack: d.stack });
    }
  }

  G.report = function (data) { call({ op: 'report', data: data }); };
  // For memory measurements (XsBridge.heap): xsnap's gc() is hidden from the bundle below.
  var collect = G.gc;
  G.__xs_gc = function () { if (collect) collect(); };

  // ---------------------------------------------------------------- outgoing bytes
  // Written bytes collect per socket and go to Node once the current turn is over (a promise job:
  // xsnap runs the job queue before it answers), or before close.
  var dirty = [];
  var flushQueued = false;
  function queueFlush(s) {
    if (!s._queued) { s._queued = true; dirty.push(s); }
    if (!flushQueued) { flushQueued = true; PromiseR.resolve().then(flushAll); }
  }
  function flushAll() {
    flushQueued = false;
    var list = dirty;
    dirty = [];
    for (var i = 0; i < list.length; i++) flush(list[i]);
  }
  // Both socket kinds close alike: send what is written, forget the socket, tell Node.
  function closeSocket(s) {
    if (s._gone) return;
    flush(s);
    s._gone = true;
    delete sockets[s._id];
    call({ op: 'close', id: s._id });
  }

  function flush(s) {
    s._queued = false;
    if (!s._out.length || s._gone) return;
    var d = s._out;
    s._out = [];
    call({ op: 'write', id: s._id, d: d });
  }

  var sockets = {};  // bridge socket id -> socket object (TCP, Socket, Espruino socket)
  var nextId = 1;
  function bytesOf(v) {
    // ArrayBuffer or a view -> array of byte values.
    var u = v instanceof ArrayBuffer ? new Uint8Array(v)
      : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
    var a = new Array(u.length);
    for (var i = 0; i < u.length; i++) a[i] = u[i];
    return a;
  }

  // ---------------------------------------------------------------- embedded:io/socket/tcp (ECMA-419)
  var ROOM = cfg.writeRoom;

  function TCP(o) {
    if (!o || typeof o !== 'object') throw new TypeError('TCP: options required');
    if (typeof o.address !== 'string' || !IPV4.test(o.address)) {
      // ECMA-419 TCP takes an IP address; there is no host option.
      throw new RangeError('TCP: address must be an IP address, got ' + o.address);
    }
    var port = o.port;
    if (typeof port !== 'number' || port < 1 || port > 65535 || (port | 0) !== port) throw new RangeError('TCP: invalid port');
    var fmt = o.format === undefined ? 'buffer' : o.format;
    if (fmt !== 'buffer' && fmt !== 'number') throw new RangeError('TCP: invalid format ' + fmt);
    this._id = nextId++;
    this._fmt = fmt;
    this._in = [];
    this._r = 0;
    this._out = [];
    this._room = 0;
    this._up = false;
    this._gone = false;  // close() called: every method but close() throws
    this._err = null;    // an error waiting for the receive queue to drain
    this._errored = false;
    this._kind = '419';
    this._onReadable = o.onReadable;
    this._onWritable = o.onWritable;
    this._onError = o.onError;
    sockets[this._id] = this;
    call({ op: 'tcp', id: this._id, kind: '419', address: o.address, port: port, nodelay: !!o.nodelay });
  }
  TCP.prototype = {
    constructor: TCP,
    get format() { return this._fmt; },
    set format(f) {
      if (f !== 'buffer' && f !== 'number') throw new RangeError('TCP: invalid format ' + f);
      this._fmt = f;
    },
    read: function (arg) {
      if (this._gone) throw new Error('TCP: closed');
      var avail = this._in.length - this._r;
      if (this._fmt === 'number') {
        if (arg !== undefined) throw new TypeError('TCP: read() takes no argument in number format');
        if (!avail) return undefined;
        var b = this._in[this._r++];
        this._compact();
        this._drained();
        return b;
      }
      // buffer format: read() -> all available, read(n) -> n bytes, read(view) -> fills the view.
      var n = avail, view = null;
      if (typeof arg === 'number') n = arg;
      else if (arg !== undefined) {
        view = arg instanceof ArrayBuffer ? new Uint8Array(arg) : new Uint8Array(arg.buffer, arg.byteOffset, arg.byteLength);
        n = view.length;
      }
      if (n > avail) throw new RangeError('TCP: read of ' + n + ' bytes with ' + avail + ' available');
      var out = view || new Uint8Array(n);
      for (var i = 0; i < n; i++) out[i] = this._in[this._r++];
      this._compact();
      this._drained();
      return view ? n : out.buffer;
    },
    _drained: function () {
      // Moddable's lwip TCP delivers an error only once the receive buffers are empty.
      if (this._err !== null && this._in.length === this._r) {
        var self = this;
        PromiseR.resolve().then(function () { self._fail(); });
      }
    },
    _fail: function () {
      if (this._gone || this._err === null) return;
      this._err = null;
      this._errored = true;
      if (this._onError) guard('TCP onError', this._onError, this);
    },
    _compact: function () {
      if (this._r > 4096 && this._r * 2 > this._in.length) { this._in = this._in.slice(this._r); this._r = 0; }
      else if (this._r === this._in.length) { this._in = []; this._r = 0; }
    },
    write: function (v) {
      if (this._gone) throw new Error('TCP: closed');
      if (!this._up || this._err !== null || this._errored) throw new Error('not ready');
      if (this._fmt === 'number') {
        // platforms.md: on the device, write(buffer) in number format does not send the buffer.
        if (typeof v !== 'number') throw new TypeError('TCP: number format writes one byte (a number); switch format to "buffer" for a buffer write');
        if (this._room < 1) throw new Error('would block');
        this._out.push(v & 255);
        this._room--;
      } else {
        if (typeof v === 'number') throw new TypeError('TCP: buffer format writes a buffer');
        var a = bytesOf(v);
        if (a.length > this._room) throw new Error('would block');
        for (var i = 0; i < a.length; i++) this._out.push(a[i]);
        this._room -= a.length;
      }
      queueFlush(this);
      return this._room;
    },
    close: function () {
      closeSocket(this);
    },
    _ev: function (e) {
      if (this._gone) return;
      if (e.ev === 'connect') {
        this._up = true;
        this._room = ROOM;
        if (this._onWritable) guard('TCP onWritable', this._onWritable, this, this._room);
      } else if (e.ev === 'data') {
        var d = e.d;
        for (var i = 0; i < d.length; i++) this._in.push(d[i]);
        if (this._onReadable) guard('TCP onReadable', this._onReadable, this, this._in.length - this._r);
      } else if (e.ev === 'written') {
        this._room += e.n;
        if (this._room > ROOM) this._room = ROOM;
        if (this._onWritable) guard('TCP onWritable', this._onWritable, this, this._room);
      } else if (e.ev === 'close') {
        // ECMA-419 has no close event: a remote close or a failure arrives as onError, after the
        // received bytes have been read; until close() the socket object stays (reads work).
        delete sockets[this._id];
        this._err = e.error || 'closed';
        if (this._in.length === this._r) this._fail();
      }
    },
  };

  // ---------------------------------------------------------------- net: Net.resolve
  var resolves = {};
  var Net = {
    resolve: function (name, cb) {
      var id = nextId++;
      resolves[id] = cb;
      call({ op: 'resolve', id: id, name: String(name) });
    },
    get: function (what) { return what === 'IP' ? '127.0.0.1' : undefined; },
  };

  // ---------------------------------------------------------------- socket: classic Socket
  var CONNECTED = 1, READABLE = 2, WRITABLE = 3, DISCONNECTED = -1, ERROR = -2;
  function Socket(o) {
    if (!o || typeof o !== 'object') throw new TypeError('Socket: options required');
    var host = o.host !== undefined ? o.host : o.address;
    if (typeof host !== 'string') throw new TypeError('Socket: host or address required');
    this._id = nextId++;
    this._in = [];
    this._r = 0;
    this._out = [];
    this._room = 0;
    this._up = false;
    this._gone = false;
    this._inCb = false;
    this._kind = 'classic';
    this.callback = null;
    sockets[this._id] = this;
    call({ op: 'tcp', id: this._id, kind: 'classic', host: host, port: o.port, nodelay: false });
  }
  Socket.prototype = {
    constructor: Socket,
    read: function (type) {
      if (this._gone) throw new Error('Socket: read on a closed socket');
      if (!this._inCb) throw new Error('Socket: read outside the callback');
      var avail = this._in.length - this._r;
      if (type === Number) {
        if (!avail) return undefined;
        var b = this._in[this._r++];
        if (this._r === this._in.length) { this._in = []; this._r = 0; }
        return b;
      }
      var all = this._in.slice(this._r);
      this._in = [];
      this._r = 0;
      if (type === String) return fromCharCode.apply(null, all);
      if (type === ArrayBuffer) return new Uint8Array(all).buffer;
      throw new TypeError('Socket: read(Number|String|ArrayBuffer) only in this bridge');
    },
    write: function () {
      if (this._gone) throw new Error('Socket: closed');
      if (!arguments.length) return this._room;
      var add = [];
      for (var k = 0; k < arguments.length; k++) {
        var v = arguments[k];
        if (typeof v === 'number') add.push(v & 255);
        else if (typeof v === 'string') { var e = enc.encode(v); for (var j = 0; j < e.length; j++) add.push(e[j]); }
        else { var a = bytesOf(v); for (var i = 0; i < a.length; i++) add.push(a[i]); }
      }
      if (!this._up) throw new Error('Socket: not connected');
      if (add.length > this._room) throw new Error('Socket: write of ' + add.length + ' bytes with room ' + this._room);
      for (var n = 0; n < add.length; n++) this._out.push(add[n]);
      this._room -= add.length;
      queueFlush(this);
    },
    close: function () {
      closeSocket(this);
    },
    _cb: function (msg, value) {
      var f = this.callback;
      if (!f) return;
      this._inCb = true;
      try {
        guard('Socket callback(' + msg + ')', f, this, msg, value);
      } finally {
        this._inCb = false;
      }
    },
    _ev: function (e) {
      if (this._gone) return;
      if (e.ev === 'connect') {
        this._up = true;
        this._room = ROOM;
        this._cb(CONNECTED);
      } else if (e.ev === 'data') {
        var d = e.d;
        for (var i = 0; i < d.length; i++) this._in.push(d[i]);
        this._cb(READABLE, this._in.length - this._r);
      } else if (e.ev === 'written') {
        this._room += e.n;
        if (this._room > ROOM) this._room = ROOM;
        this._cb(WRITABLE, this._room);
      } else if (e.ev === 'close') {
        this._gone = true;
        delete sockets[this._id];
        this._cb(e.error ? ERROR : DISCONNECTED);
      }
    },
  };
  function SecureSocket() {
    throw new Error('SecureSocket is not available in the XS bridge');
  }

  // ---------------------------------------------------------------- timers (shared by both flavors)
  var timers = {};  // bridge timer id -> entry; a new id per arming so a stale tick finds nothing
  function armTimer(entry, ms, rep) {
    if (entry.nid) { delete timers[entry.nid]; call({ op: 'clear', id: entry.nid }); }
    var id = nextId++;
    entry.nid = id;
    entry.rep = rep || 0;
    timers[id] = entry;
    call({ op: 'timer', id: id, ms: ms > 0 ? ms : 0, rep: entry.rep });
  }
  function disarm(entry) {
    if (!entry || !entry.nid) return;
    delete timers[entry.nid];
    call({ op: 'clear', id: entry.nid });
    entry.nid = 0;
  }
  function tick(id) {
    var t = timers[id];
    if (!t) return;
    if (!t.rep) { delete timers[id]; t.nid = 0; }
    t.fire();
  }

  // Moddable `timer`: Timer.set(cb, ms[, repeat]) -> handle; cb(handle).
  function MTimer() {}
  var Timer = {
    set: function (cb, ms, rep) {
      var h = new MTimer();
      var entry = { nid: 0, rep: 0, fire: function () { guard('Timer callback', cb, undefined, h); } };
      h._e = entry;
      armTimer(entry, ms || 0, rep);
      return h;
    },
    repeat: function (cb, ms) { return Timer.set(cb, ms, ms); },
    schedule: function (h, ms, rep) { armTimer(h._e, ms || 0, rep); },
    clear: function (h) {
      if (h === undefined || h === null) return;
      if (!(h instanceof MTimer)) throw new TypeError('Timer.clear: not a timer');
      disarm(h._e);
    },
    delay: function () { throw new Error('Timer.delay is not available in the XS bridge'); },
  };
  // Moddable `time`: Time.ticks is a millisecond counter, signed 32-bit (it wraps on devices).
  var Time = {
    get ticks() { return call({ op: 'ticks' }); },
    delta: function (a, b) { if (b === undefined) b = Time.ticks; return (b - a) | 0; },
  };

  // ---------------------------------------------------------------- Espruino
  var etimers = {};  // Espruino timer id -> entry
  var etid = 0;
  function eset(fn, ms, rep, args) {
    if (typeof fn !== 'function') throw new TypeError('setTimeout: function required');
    var id = ++etid;
    var entry = { nid: 0, rep: 0, fire: function () {
      if (!entry.rep) delete etimers[id];
      guard('setTimeout callback', fn, undefined, args[0], args[1]);
    } };
    etimers[id] = entry;
    armTimer(entry, ms, rep ? (ms > 0 ? ms : 1) : 0);
    return id;
  }
  function eclear(args) {
    if (!args.length) {
      // Espruino: no argument clears every timeout and interval.
      for (var k in etimers) disarm(etimers[k]);
      etimers = {};
      return;
    }
    var id = args[0];
    // Espruino: "if a parameter is supplied but is undefined then an Exception will be thrown".
    if (id === undefined) throw new Error('clearTimeout(undefined): Espruino throws here (it guards against clearing every timer)');
    var t = etimers[id];
    if (!t) return;
    delete etimers[id];
    disarm(t);
  }
  var E = {
    toString: function () {
      var s = '';
      for (var k = 0; k < arguments.length; k++) {
        var v = arguments[k];
        if (typeof v === 'string') s += v;
        else if (typeof v === 'number') s += fromCharCode(v & 255);
        else if (v instanceof ArrayBuffer || ArrayBuffer.prototype.isPrototypeOf(v && v.buffer)) {
          var a = bytesOf(v);
          for (var i = 0; i < a.length; i += 4096) s += fromCharCode.apply(null, a.slice(i, i + 4096));
        } else if (Array.isArray(v)) {
          for (var j = 0; j < v.length; j++) s += fromCharCode(v[j] & 255);
        } else return undefined;
      }
      return s;
    },
    toUint8Array: function (str) {
      var u = new Uint8Array(str.length);
      for (var i = 0; i < str.length; i++) u[i] = str.charCodeAt(i) & 255;
      return u;
    },
  };

  function ESocket(id) {
    this._id = id;
    this._h = {};
    this._out = [];
    this._pend = 0;
    this._gone = false;    // end() called: nothing more is sent
    this._closed = false;  // 'close' delivered
    this._kind = 'espruino';
  }
  ESocket.prototype = {
    constructor: ESocket,
    on: function (ev, fn) { (this._h[ev] || (this._h[ev] = [])).push(fn); return this; },
    removeAllListeners: function (ev) { if (ev === undefined) this._h = {}; else delete this._h[ev]; },
    emit: function (ev, a) {
      var l = this._h[ev];
      if (!l) return;
      l = l.slice();
      for (var i = 0; i < l.length; i++) guard('net socket "' + ev + '" listener', l[i], this, a);
    },
    write: function (data) {
      if (this._gone) return false;
      // platforms.md (seen): write(uint8array) sends the array's text ("16,15,0,..."), so does this.
      var s = typeof data === 'string' ? data : String(data);
      for (var i = 0; i < s.length; i++) {
        var c = s.charCodeAt(i);
        if (c > 255) throw new Error('net: write of char code ' + c + ' (Espruino strings hold bytes)');
        this._out.push(c);
      }
      this._pend += s.length;
      queueFlush(this);
      return false;  // Espruino: write always returns false; 'drain' follows
    },
    end: function () {
      if (this._gone) return;
      flush(this);
      this._gone = true;
      call({ op: 'end', id: this._id });
    },
    _ev: function (e) {
      if (this._closed) return;
      if (e.ev === 'connect') {
        this.emit('connect');
      } else if (e.ev === 'data') {
        // Every data event is a new String of bytes, one char per byte (chunked by the bridge).
        this.emit('data', fromCharCode.apply(null, e.d));
      } else if (e.ev === 'written') {
        this._pend -= e.n;
        if (this._pend <= 0) { this._pend = 0; this.emit('drain'); }
      } else if (e.ev === 'close') {
        this._closed = true;
        this._gone = true;
        delete sockets[this._id];
        if (e.error) this.emit('error', { type: 'error', message: e.error });
        else this.emit('end');
        this.emit('close', !!e.error);
      }
    },
  };
  var enet = {
    connect: function (o, cb) {
      if (!o || typeof o.host !== 'string' || typeof o.port !== 'number') throw new TypeError('net.connect({host, port}, cb)');
      var s = new ESocket(nextId++);
      if (cb) s.on('connect', cb);
      sockets[s._id] = s;
      call({ op: 'tcp', id: s._id, kind: 'espruino', host: o.host, port: o.port, nodelay: false });
      return s;
    },
  };

  // ---------------------------------------------------------------- events from Node
  G.handleCommand = function (ab) {
    var evs = JSONp(dec.decode(ab));
    for (var i = 0; i < evs.length; i++) {
      var e = evs[i];
      if (e.ev === 'timer') tick(e.id);
      else if (e.ev === 'resolved') {
        var cb = resolves[e.id];
        delete resolves[e.id];
        if (cb) guard('Net.resolve callback', cb, undefined, e.name, e.address === null ? undefined : e.address);
      } else {
        var s = sockets[e.id];
        if (s) s._ev(e);
      }
    }
    return new ArrayBuffer(0);
  };

  // ---------------------------------------------------------------- install
  if (cfg.flavor === 'moddable') {
    G.__xs_tcp = { default: TCP };
    G.__xs_net = { default: Net };
    G.__xs_socket = { Socket: Socket, default: Socket };
    G.__xs_securesocket = { default: SecureSocket };
    G.__xs_timer = { default: Timer };
    G.__xs_time = { default: Time };
  } else {
    G.getTime = function () { return call({ op: 'time' }); };
    G.setTimeout = function (fn, ms) { return eset(fn, ms, false, Array.prototype.slice.call(arguments, 2)); };
    G.setInterval = function (fn, ms) { return eset(fn, ms, true, Array.prototype.slice.call(arguments, 2)); };
    G.clearTimeout = function () { eclear(arguments); };
    G.clearInterval = function () { eclear(arguments); };
    G.E = E;
    G.require = function (name) {
      if (name === 'net') return enet;
      throw new Error('Module ' + name + ' not found');
    };
  }
  // Take away what the target runtime lacks, so a bundle that leans on it fails here too.
  var missed = [];
  for (var h = 0; h < cfg.hide.length; h++) {
    var path = cfg.hide[h].split('.');
    var obj = G;
    var p = 0;
    // '%TypedArray%' names the intrinsic the typed array classes inherit from.
    if (path[0] === '%TypedArray%') { obj = Object.getPrototypeOf(Uint8Array); p = 1; }
    for (; p < path.length - 1 && obj; p++) obj = obj[path[p]];
    var last = path[path.length - 1];
    var gone = false;
    if (obj) { try { delete obj[last]; gone = !(last in obj); } catch (x) { gone = false; } }
    if (!gone) missed.push(cfg.hide[h]);
  }
  call({ op: 'ready', hidden: cfg.hide.length - missed.length, missed: missed });
})
