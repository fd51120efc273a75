// Codec status codes. Encoders return a byte count (> 0) or one of these; the
// decoder returns a packet type (> 0), NEED_MORE (0) or one of these.
// Plain numeric constants so the bundler inlines them and the device pays nothing for names.

/** Decoder: no complete packet buffered yet. */
export const NEED_MORE = 0;
/** Encode: the packet does not fit in the space given. */
export const ERR_NO_SPACE = -1;
/** A string over 65,535 bytes, or a packet over the 268,435,455-byte remaining length limit. */
export const ERR_TOO_LONG = -2;
/** Ill-formed UTF-8, U+0000 or an unpaired surrogate [MQTT-1.5.3-1..2]. */
export const ERR_UTF8 = -3;
/** A topic name with wildcards or empty, or a topic filter with misplaced wildcards. */
export const ERR_TOPIC = -4;
/** QoS outside 0..2 (including QoS 3 in a PUBLISH header). */
export const ERR_QOS = -5;
/** Packet identifier 0 where one is required, or outside 1..65535. */
export const ERR_PACKET_ID = -6;
/** Fixed-header flag bits other than the ones the packet type requires [MQTT-2.2.2-2]. */
export const ERR_HEADER_FLAGS = -7;
/** Remaining length encoded in more than 4 bytes. */
export const ERR_REMAINING_LENGTH = -8;
/** Remaining length inconsistent with the fields inside the packet. */
export const ERR_LENGTH = -9;
/** Reserved packet type 0 or 15. */
export const ERR_PACKET_TYPE = -10;
/** A valid packet type this side never receives (a broker-bound packet at a client). */
export const ERR_UNEXPECTED_TYPE = -11;
/** CONNACK acknowledge flags with reserved bits set. */
export const ERR_CONNACK_FLAGS = -12;
/** CONNACK return code above 5. */
export const ERR_CONNACK_CODE = -13;
/** SUBACK return code other than 0, 1, 2 or 0x80. */
export const ERR_SUBACK_CODE = -14;
/** Packet larger than the receive buffer: reported with its size, then skipped. */
export const ERR_TOO_LARGE = -15;
/** CONNECT with a protocol name or level other than "MQTT" 4. */
export const ERR_PROTOCOL = -16;
/** CONNECT flags: reserved bit set, or will/password flags inconsistent. */
export const ERR_CONNECT_FLAGS = -17;
/** SUBSCRIBE requested-QoS byte with reserved bits set or QoS 3. */
export const ERR_SUBSCRIBE_QOS = -18;
/** SUBSCRIBE, UNSUBSCRIBE or SUBACK with no entries. */
export const ERR_EMPTY = -19;
/** Invalid argument from the caller (e.g. keepalive outside 0..65535, password without username). */
export const ERR_ARG = -20;
