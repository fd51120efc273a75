// Client status codes, continuing the codec's negative numbering (codec/errors.ts), so one
// number names any failure. Calls return them; onError and onClose report them.

/** publish(): the outbox ring has no room now; onDrain says when it has. */
export const ERR_OUTBOX_FULL = -21;
/** A call the current state does not allow (connect() while started, unsubscribe() while offline). */
export const ERR_STATE = -22;
/** subscribe(): no free subscription slot, or no free slot for another pending SUBSCRIBE/UNSUBSCRIBE. */
export const ERR_NO_SLOT = -23;
/** The transmit buffer for control packets has no room: at a call, nothing changed; on a live connection, it is closed and retried. */
export const ERR_TX_FULL = -24;
/** CONNACK 1: the broker does not speak MQTT 3.1.1. */
export const ERR_REFUSED_PROTOCOL = -25;
/** CONNACK 2: client identifier rejected. */
export const ERR_REFUSED_ID = -26;
/** CONNACK 3: server unavailable. */
export const ERR_REFUSED_UNAVAILABLE = -27;
/** CONNACK 4: bad user name or password. */
export const ERR_REFUSED_CREDENTIALS = -28;
/** CONNACK 5: not authorized. */
export const ERR_REFUSED_AUTH = -29;
/** No CONNACK within connectTimeout. */
export const ERR_CONNECT_TIMEOUT = -30;
/** No PINGRESP in time: the link is dead or half-open. */
export const ERR_PING_TIMEOUT = -31;
/** The connection failed or was closed by the peer or the network. */
export const ERR_CONNECTION = -32;
/** More inbound QoS 2 messages awaiting PUBREL than maxInboundQos2. */
export const ERR_INBOUND_FULL = -33;
/** SUBACK 0x80: the broker refused a filter. */
export const ERR_SUBSCRIBE_REFUSED = -34;
/** publish() at QoS 0 while offline with queueQos0 off. */
export const ERR_OFFLINE = -35;
/** TLS handshake or certificate failure (never falls back to plain TCP). */
export const ERR_TLS = -36;
/** Host name did not resolve. */
export const ERR_DNS = -37;
/** A packet the protocol does not allow at this point (e.g. PUBLISH before CONNACK). */
export const ERR_PROTOCOL_STATE = -38;
