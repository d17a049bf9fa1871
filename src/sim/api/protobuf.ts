import { badRequest } from './status.js';

/**
 * Just enough of the Kubernetes protobuf wire format to read the `DeleteOptions` that typed clientsets
 * send with every DELETE (`kubectl drain` deletes pods that way). Other protobuf bodies stay
 * unsupported: decoding them needs the generated schema of every kind.
 */

/** `k8s\0`: the prefix of a protobuf-encoded `runtime.Unknown` envelope. */
const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

interface Field {
  number: number;
  /** A varint's value, or the bytes of a length-delimited field. */
  value: bigint | Buffer;
}

function malformed(): Error {
  return badRequest('the body of the request was in an unknown format: malformed protobuf');
}

function readVarint(buf: Buffer, start: number): [bigint, number] {
  let value = 0n;
  let shift = 0n;
  for (let pos = start; pos < buf.length && shift < 70n; pos++) {
    const byte = buf[pos]!;
    value |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return [value, pos + 1];
    shift += 7n;
  }
  throw malformed();
}

function fields(buf: Buffer): Field[] {
  const out: Field[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const [key, afterKey] = readVarint(buf, pos);
    const number = Number(key >> 3n);
    const wireType = Number(key & 7n);
    if (wireType === 0) {
      const [value, next] = readVarint(buf, afterKey);
      out.push({ number, value });
      pos = next;
    } else if (wireType === 2) {
      const [length, next] = readVarint(buf, afterKey);
      const end = next + Number(length);
      if (end > buf.length) throw malformed();
      out.push({ number, value: buf.subarray(next, end) });
      pos = end;
    } else if (wireType === 1 || wireType === 5) {
      pos = afterKey + (wireType === 1 ? 8 : 4);
    } else {
      throw malformed();
    }
  }
  return out;
}

function text(field: Field): string {
  if (!(field.value instanceof Buffer)) throw malformed();
  return field.value.toString('utf8');
}

/** Whether a body is a Kubernetes protobuf envelope. */
export function isProtobufEnvelope(body: Buffer): boolean {
  return body.subarray(0, MAGIC.length).equals(MAGIC);
}

/**
 * Decodes an enveloped `DeleteOptions` into its JSON form (the fields the API server acts on:
 * `gracePeriodSeconds`, `propagationPolicy`, `orphanDependents`, `dryRun`).
 */
export function decodeDeleteOptions(body: Buffer): Record<string, unknown> {
  if (!isProtobufEnvelope(body)) throw malformed();
  let kind = '';
  let raw: Buffer | undefined;
  for (const f of fields(body.subarray(MAGIC.length))) {
    if (f.number === 1 && f.value instanceof Buffer) {
      for (const t of fields(f.value)) if (t.number === 2) kind = text(t);
    } else if (f.number === 2 && f.value instanceof Buffer) {
      raw = f.value;
    }
  }
  if (kind !== 'DeleteOptions' || raw === undefined) {
    throw badRequest(
      `the body of the request was in an unknown format: expected DeleteOptions, got "${kind}"`,
    );
  }
  const out: Record<string, unknown> = {};
  for (const f of fields(raw)) {
    if (f.number === 1 && typeof f.value === 'bigint')
      out.gracePeriodSeconds = Number(BigInt.asIntN(64, f.value));
    else if (f.number === 3 && typeof f.value === 'bigint') out.orphanDependents = f.value !== 0n;
    else if (f.number === 4) out.propagationPolicy = text(f);
    else if (f.number === 5) out.dryRun = [...((out.dryRun as string[] | undefined) ?? []), text(f)];
  }
  return out;
}
