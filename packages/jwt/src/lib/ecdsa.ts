// ECDSA signatures: JWS uses r||s, each left-padded to the curve size (RFC 7518 §3.4); OpenSSL
// speaks DER (SEQUENCE of two INTEGERs). Converting here keeps KeyObjects bare in crypto calls.

/** r||s → DER. The caller has checked `raw.length === 2 * size`. */
export function rawToDer(raw: Buffer, size: number): Buffer {
  const r = integer(raw, 0, size);
  const s = integer(raw, size, 2 * size);
  const body = r.length + s.length;
  const head = body < 128 ? [0x30, body] : [0x30, 0x81, body];
  const out = Buffer.allocUnsafe(head.length + body);
  out.set(head, 0);
  out.set(r, head.length);
  out.set(s, head.length + r.length);
  return out;
}

function integer(raw: Buffer, start: number, end: number): Buffer {
  while (start < end - 1 && raw[start] === 0) start++;
  const pad = raw[start]! & 0x80 ? 1 : 0;
  const length = end - start + pad;
  const out = Buffer.allocUnsafe(2 + length);
  out[0] = 0x02;
  out[1] = length;
  if (pad) out[2] = 0;
  raw.copy(out, 2 + pad, start, end);
  return out;
}

/** DER (as OpenSSL signs) → r||s of `size` bytes each. */
export function derToRaw(der: Buffer, size: number): Buffer {
  let offset = der[1]! & 0x80 ? 2 + (der[1]! & 0x7f) : 2;
  const out = Buffer.alloc(2 * size);
  for (let part = 0; part < 2; part++) {
    const length = der[offset + 1]!;
    let start = offset + 2;
    let n = length;
    while (n > size) {
      start++;
      n--;
    }
    der.copy(out, part * size + (size - n), start, start + n);
    offset += 2 + length;
  }
  return out;
}
