// The protobuf wire primitives the OTLP encoder (otlp-encode.ts) writes with
// (https://protobuf.dev/programming-guides/encoding/): varints, fixed-width numbers, length-delimited
// fields, and AnyValue/KeyValue (opentelemetry-proto common/v1/common.proto) for resource attributes.

export const utf8 = new TextEncoder()

export function varintSize (v: number): number {
  let n = 1
  while (v >= 128) { v = Math.floor(v / 128); n++ }
  return n
}

/** A growable byte buffer with the protobuf wire primitives this encoder needs. */
export class Writer {
  buf = new Uint8Array(64 * 1024)
  view = new DataView(this.buf.buffer)
  pos = 0

  ensure (n: number): void {
    if (this.pos + n <= this.buf.length) return
    let size = this.buf.length * 2
    while (size < this.pos + n) size *= 2
    const next = new Uint8Array(size)
    next.set(this.buf.subarray(0, this.pos))
    this.buf = next
    this.view = new DataView(next.buffer)
  }

  /** A non-negative integer below 2^53. */
  varint (v: number): void {
    this.ensure(10)
    const b = this.buf
    while (v >= 128) {
      b[this.pos++] = (v % 128) | 128
      v = Math.floor(v / 128)
    }
    b[this.pos++] = v
  }

  /** int64 as protobuf writes it: negative values as their 64-bit two's complement (10 bytes). */
  int64 (v: number): void {
    if (v >= 0) { this.varint(v); return }
    let u = BigInt.asUintN(64, BigInt(v))
    this.ensure(10)
    while (u >= 128n) {
      this.buf[this.pos++] = Number(u & 127n) | 128
      u >>= 7n
    }
    this.buf[this.pos++] = Number(u)
  }

  byte (b: number): void {
    this.ensure(1)
    this.buf[this.pos++] = b
  }

  bytes (b: Uint8Array): void {
    this.ensure(b.length)
    this.buf.set(b, this.pos)
    this.pos += b.length
  }

  /** Length-prefixed bytes. */
  lenBytes (b: Uint8Array): void {
    this.varint(b.length)
    this.bytes(b)
  }

  fixed32 (v: number): void {
    this.ensure(4)
    this.view.setUint32(this.pos, v, true)
    this.pos += 4
  }

  double (v: number): void {
    this.ensure(8)
    this.view.setFloat64(this.pos, v, true)
    this.pos += 8
  }

  /** Start a length-delimited message: two bytes are reserved for its length. */
  begin (): number {
    this.ensure(2)
    const at = this.pos
    this.pos += 2
    return at
  }

  /** End the message begun at `at`: its length written, the body moved if the length needs other than 2 bytes. */
  end (at: number): void {
    const len = this.pos - at - 2
    const size = varintSize(len)
    if (size !== 2) {
      this.ensure(size)
      this.buf.copyWithin(at + size, at + 2, this.pos)
      this.pos += size - 2
    }
    let p = at
    let v = len
    while (v >= 128) {
      this.buf[p++] = (v % 128) | 128
      v = Math.floor(v / 128)
    }
    this.buf[p] = v
  }

  take (): Uint8Array {
    return this.buf.slice(0, this.pos)
  }
}

/** A field tag: (field number << 3) | wire type. */
export const tag = (field: number, wire: number) => (field << 3) | wire

/** AnyValue of any attribute value the API allows (resource and scope attributes). */
function anyValue (w: Writer, v: unknown): void {
  if (typeof v === 'string') {
    w.byte(tag(1, 2))
    w.lenBytes(utf8.encode(v))
  } else if (typeof v === 'boolean') {
    w.byte(tag(2, 0))
    w.byte(v ? 1 : 0)
  } else if (typeof v === 'number') {
    if (Number.isInteger(v) && Math.abs(v) < 2 ** 63) {
      w.byte(tag(3, 0))
      w.int64(v)
    } else {
      w.byte(tag(4, 1))
      w.double(v)
    }
  } else if (Array.isArray(v)) {
    w.byte(tag(5, 2))
    const arr = w.begin()
    for (const item of v) {
      w.byte(tag(1, 2))
      const at = w.begin()
      if (item !== null && item !== undefined) anyValue(w, item)
      w.end(at)
    }
    w.end(arr)
  } else if (v instanceof Uint8Array) {
    w.byte(tag(7, 2))
    w.lenBytes(v)
  }
}

export function keyValues (w: Writer, field: number, attrs: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null) continue
    w.byte(tag(field, 2))
    const at = w.begin()
    w.byte(tag(1, 2))
    w.lenBytes(utf8.encode(k))
    w.byte(tag(2, 2))
    const val = w.begin()
    anyValue(w, v)
    w.end(val)
    w.end(at)
  }
}
