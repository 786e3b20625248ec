import { Code, PlexusError } from "@plexus/core";

/**
 * gRPC's message framing (PROTOCOL-HTTP2.md "Length-Prefixed-Message"): a flags byte, a 4-byte
 * big-endian length, then that many bytes. gRPC-Web frames its trailers the same way, with the
 * top flag bit set.
 */
export const frameHeaderBytes = 5;
/** The message is compressed with the stream's `grpc-encoding`. */
export const flagCompressed = 0x01;
/** gRPC-Web: the frame holds the trailers, not a message. */
export const flagTrailers = 0x80;

export interface Frame {
  readonly flags: number;
  readonly payload: Buffer;
}

const emptyPayload = Buffer.alloc(0);

/** One frame: its header and payload in one buffer, ready for a single write. */
export function encodeFrame(flags: number, payload: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(frameHeaderBytes + payload.byteLength);
  frame[0] = flags;
  frame.writeUInt32BE(payload.byteLength, 1);
  frame.set(payload, frameHeaderBytes);
  return frame;
}

/**
 * Reads the request frames of one stream from its body chunks, however the chunks split them:
 * each `push` returns the frames it completed (a stream may carry many, one per message), and
 * `partial` says whether the body ended mid-frame. A frame longer than `maxMessageBytes` is
 * refused from its header alone, before its bytes are buffered.
 */
export class FrameReader {
  private readonly maxMessageBytes: number;
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** The current frame's flags and length once its header is read; length -1 before. */
  private flags = 0;
  private length = -1;

  constructor(maxMessageBytes: number) {
    this.maxMessageBytes = maxMessageBytes;
  }

  /** Whether bytes of an unfinished frame are buffered (a body ending now is truncated). */
  get partial(): boolean {
    return this.buffered > 0 || this.length !== -1;
  }

  /** The frames `chunk` completes, or why the stream is malformed. */
  push(chunk: Buffer): Frame[] | PlexusError {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: Frame[] = [];
    for (;;) {
      if (this.length === -1) {
        if (this.buffered < frameHeaderBytes) return frames;
        const header = this.take(frameHeaderBytes);
        this.flags = header[0]!;
        this.length = header.readUInt32BE(1);
        if ((this.flags & ~flagCompressed) !== 0) {
          return new PlexusError(Code.InvalidArgument, "malformed gRPC frame: unknown flags");
        }
        if (this.length > this.maxMessageBytes) {
          return new PlexusError(
            Code.ResourceExhausted,
            `request message larger than ${this.maxMessageBytes} bytes`,
          );
        }
      }
      if (this.buffered < this.length) return frames;
      frames.push({ flags: this.flags, payload: this.take(this.length) });
      this.length = -1;
    }
  }

  /** Removes the next `size` buffered bytes: a view when one chunk holds them, else a copy. */
  private take(size: number): Buffer {
    if (size === 0) return emptyPayload;
    this.buffered -= size;
    const first = this.chunks[0]!;
    if (first.length >= size) {
      if (first.length === size) this.chunks.shift();
      else this.chunks[0] = first.subarray(size);
      return first.subarray(0, size);
    }
    const out = Buffer.allocUnsafe(size);
    let filled = 0;
    while (filled < size) {
      const chunk = this.chunks[0]!;
      const n = Math.min(chunk.length, size - filled);
      chunk.copy(out, filled, 0, n);
      filled += n;
      if (n === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(n);
    }
    return out;
  }
}

/**
 * gRPC-Web's trailers frame (PROTOCOL-WEB.md): the trailers as HTTP/1 header lines, in a frame
 * flagged `flagTrailers`, after the last message; HTTP/1.1 has no trailers a browser could read.
 */
export function encodeTrailersFrame(trailers: Readonly<Record<string, string>>): Buffer {
  let block = "";
  for (const name in trailers) block += `${name}: ${trailers[name]}\r\n`;
  return encodeFrame(flagTrailers, Buffer.from(block, "latin1"));
}
