// Readable names for codec and client status codes. Kept apart from errors.ts so a bundle
// that never prints names does not carry the strings.

const NAMES = [
  'NEED_MORE', 'ERR_NO_SPACE', 'ERR_TOO_LONG', 'ERR_UTF8', 'ERR_TOPIC', 'ERR_QOS',
  'ERR_PACKET_ID', 'ERR_HEADER_FLAGS', 'ERR_REMAINING_LENGTH', 'ERR_LENGTH',
  'ERR_PACKET_TYPE', 'ERR_UNEXPECTED_TYPE', 'ERR_CONNACK_FLAGS', 'ERR_CONNACK_CODE',
  'ERR_SUBACK_CODE', 'ERR_TOO_LARGE', 'ERR_PROTOCOL', 'ERR_CONNECT_FLAGS',
  'ERR_SUBSCRIBE_QOS', 'ERR_EMPTY', 'ERR_ARG',
  // client-errors.ts
  'ERR_OUTBOX_FULL', 'ERR_STATE', 'ERR_NO_SLOT', 'ERR_TX_FULL', 'ERR_REFUSED_PROTOCOL',
  'ERR_REFUSED_ID', 'ERR_REFUSED_UNAVAILABLE', 'ERR_REFUSED_CREDENTIALS', 'ERR_REFUSED_AUTH',
  'ERR_CONNECT_TIMEOUT', 'ERR_PING_TIMEOUT', 'ERR_CONNECTION', 'ERR_INBOUND_FULL',
  'ERR_SUBSCRIBE_REFUSED', 'ERR_OFFLINE', 'ERR_TLS', 'ERR_DNS', 'ERR_PROTOCOL_STATE',
];

/** Name of a status code (0 or negative), e.g. -3 → "ERR_UTF8". */
export function codecErrorName(code: number): string {
  return NAMES[-code] || 'ERR_' + code;
}
