// Moddable runtime module types, from npm @moddable/typings (5.6.0).
// Known slips there: socket.d.ts lacks the message constants and read(Number), tcp.d.ts types
// read(buffer) as void; socket-transport.ts declares what it uses instead.
/// <reference path="../../node_modules/@moddable/typings/embedded_io/_common.d.ts" />
/// <reference path="../../node_modules/@moddable/typings/embedded_io/socket/tcp.d.ts" />
/// <reference path="../../node_modules/@moddable/typings/net.d.ts" />
/// <reference path="../../node_modules/@moddable/typings/socket.d.ts" />
/// <reference path="../../node_modules/@moddable/typings/securesocket.d.ts" />
/// <reference path="../../node_modules/@moddable/typings/timer.d.ts" />
/// <reference path="../../node_modules/@moddable/typings/time.d.ts" />
