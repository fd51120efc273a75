// The decoded packet: one object per decoder, overwritten by every packet it yields.
// Offsets point into `buf` (the decoder's receive buffer) and stay valid until the next call
// to the decoder's next().

export class PacketView {
  /** Receive buffer the offsets below refer to. */
  buf: Uint8Array;
  /** Packet type 1..14. */
  type = 0;
  /** Fixed-header flag bits (low nibble of the first byte). */
  flags = 0;
  qos = 0;
  dup = false;
  retain = false;
  /** Packet identifier, or 0 when the packet has none. */
  id = 0;
  /** Whole packet size in bytes: fixed header plus remaining length. */
  length = 0;
  /** PUBLISH topic (UTF-8, validated) as offset and byte length into `buf`. */
  topicOff = 0;
  topicLen = 0;
  /** PUBLISH payload as offset and byte length into `buf`. */
  payloadOff = 0;
  payloadLen = 0;
  /** CONNACK fields. */
  sessionPresent = false;
  returnCode = 0;
  /**
   * SUBACK: return codes at buf[listOff .. listOff+count).
   * SUBSCRIBE / UNSUBSCRIBE (server side): the entry list starts at listOff and holds `count` entries.
   */
  listOff = 0;
  count = 0;

  constructor(buf: Uint8Array) {
    this.buf = buf;
  }
}
