// MQTT 3.1.1 control packet types (high nibble of the first byte).
export const CONNECT = 1;
export const CONNACK = 2;
export const PUBLISH = 3;
export const PUBACK = 4;
export const PUBREC = 5;
export const PUBREL = 6;
export const PUBCOMP = 7;
export const SUBSCRIBE = 8;
export const SUBACK = 9;
export const UNSUBSCRIBE = 10;
export const UNSUBACK = 11;
export const PINGREQ = 12;
export const PINGRESP = 13;
export const DISCONNECT = 14;

/** Largest remaining length a 4-byte variable length integer can hold. */
export const MAX_REMAINING_LENGTH = 268435455;
/** Largest UTF-8 string or binary field (2-byte length prefix). */
export const MAX_STRING_BYTES = 65535;
