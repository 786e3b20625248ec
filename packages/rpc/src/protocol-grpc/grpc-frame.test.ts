import { Code, PlexusError } from "@plexus/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeFrame, encodeTrailersFrame, FrameReader, type Frame } from "./grpc-frame.ts";

const frameArb = fc.record({
  flags: fc.constantFrom(0, 1),
  payload: fc.uint8Array({ maxLength: 40 }),
});

/** Feeds `chunks` to a reader; its frames as plain values, or the error it stopped with. */
function read(reader: FrameReader, chunks: Buffer[]): { flags: number; payload: number[] }[] {
  const out: { flags: number; payload: number[] }[] = [];
  for (const chunk of chunks) {
    const frames = reader.push(chunk);
    if (frames instanceof PlexusError) throw frames;
    out.push(...frames.map((f: Frame) => ({ flags: f.flags, payload: [...f.payload] })));
  }
  return out;
}

/** `bytes` cut at the given offsets (sorted, deduplicated, clamped). */
function split(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const point of points) {
    chunks.push(bytes.subarray(from, point));
    from = point;
  }
  chunks.push(bytes.subarray(from));
  return chunks;
}

describe("FrameReader", () => {
  it("reads back every frame however the stream is chunked", () => {
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 6 }), fc.array(fc.nat()), (frames, cuts) => {
        const stream = Buffer.concat(frames.map((f) => encodeFrame(f.flags, f.payload)));
        const reader = new FrameReader(64);
        expect(read(reader, split(stream, cuts))).toEqual(
          frames.map((f) => ({ flags: f.flags, payload: [...f.payload] })),
        );
        expect(reader.partial).toBe(false);
      }),
    );
  });

  it("splits at every byte boundary of two frames alike", () => {
    const stream = Buffer.concat([
      encodeFrame(0, Buffer.from("abc")),
      encodeFrame(1, Buffer.alloc(0)),
    ]);
    for (let cut = 0; cut <= stream.length; cut++) {
      const reader = new FrameReader(64);
      const frames = read(reader, [stream.subarray(0, cut), stream.subarray(cut)]);
      expect(frames).toEqual([
        { flags: 0, payload: [...Buffer.from("abc")] },
        { flags: 1, payload: [] },
      ]);
    }
  });

  it("says a body that stops inside a frame is partial", () => {
    fc.assert(
      fc.property(frameArb, fc.nat(), (frame, at) => {
        const bytes = encodeFrame(frame.flags, frame.payload);
        const cut = 1 + (at % (bytes.length - 1));
        const reader = new FrameReader(64);
        expect(read(reader, [bytes.subarray(0, cut)])).toEqual([]);
        expect(reader.partial).toBe(true);
      }),
    );
  });

  it("refuses a frame over the limit from its header, before its bytes arrive", () => {
    const reader = new FrameReader(10);
    const header = encodeFrame(0, Buffer.alloc(11)).subarray(0, 5);
    const result = reader.push(header);
    expect(result).toBeInstanceOf(PlexusError);
    expect((result as PlexusError).code).toBe(Code.ResourceExhausted);
    expect(read(new FrameReader(10), [encodeFrame(0, Buffer.alloc(10))])).toHaveLength(1);
  });

  it("refuses flags a request frame cannot carry", () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 255 }), (flags) => {
        const result = new FrameReader(64).push(encodeFrame(flags, Buffer.from("x")));
        expect((result as PlexusError).code).toBe(Code.InvalidArgument);
      }),
    );
  });
});

describe("encodeTrailersFrame", () => {
  it("writes gRPC-Web trailers as header lines in a 0x80 frame", () => {
    const frame = encodeTrailersFrame({ "grpc-status": "5", "grpc-message": "gone" });
    expect(frame[0]).toBe(0x80);
    expect(frame.readUInt32BE(1)).toBe(frame.length - 5);
    expect(frame.subarray(5).toString()).toBe("grpc-status: 5\r\ngrpc-message: gone\r\n");
  });
});
