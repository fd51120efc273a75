// The decoded packet. The decoder is its own view (`decoder.pkt` is the decoder: one object,
// one class): every packet it yields overwrites these fields. Offsets point into `buf` (the
// decoder's receive buffer) and stay valid until the decoder's next write(), space() or next().

export interface PacketView {
  /** Receive buffer the offsets below refer to. */
  buf: Uint8Array;
  /** Packet type 1..14. */
  type: number;
  /** Fixed-header flag bits (low nibble of the first byte). */
  flags: number;
  /** Flag bits 1-2, 3 and 0, set for every packet: a PUBLISH's QoS, DUP and RETAIN. */
  qos: number;
  dup: boolean;
  retain: boolean;
  /** Packet identifier, or 0 when the packet has none. */
  id: number;
  /** Whole packet size in bytes: fixed header plus remaining length. */
  length: number;
  /** PUBLISH topic (UTF-8, validated) as offset and byte length into `buf`; length 0 otherwise. */
  topicOff: number;
  topicLen: number;
  /** PUBLISH payload as offset and byte length into `buf`. */
  payloadOff: number;
  payloadLen: number;
  /** CONNACK fields. */
  sessionPresent: boolean;
  returnCode: number;
  /**
   * SUBACK: return codes at buf[listOff .. listOff+count).
   * SUBSCRIBE / UNSUBSCRIBE (server side): the entry list starts at listOff and holds `count` entries.
   */
  listOff: number;
  count: number;
}
