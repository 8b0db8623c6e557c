// Backing memory for the big typed-array chunks of deep-queue indexes, returned to the OS when collected.
//
// An ordinary ArrayBuffer comes from malloc; glibc serves blocks below its (self-raising) mmap
// threshold from its heap and keeps them when freed, so after a deep queue drains the broker's
// RSS stays hundreds of MB high although nothing uses that memory (measured: 10M paged messages,
// 245 MB of 56-64 KiB chunks, ~140 MB still resident after the drain). V8 reserves a resizable
// ArrayBuffer with mmap and unmaps it when the buffer is collected, so its pages really go.
// Typed arrays over one are somewhat slower to index (bounds checks through the buffer), which is
// noise next to the rest of paging a message in; small chunks (shallow queues) stay on malloc.

const Resizable = ArrayBuffer as unknown as new (length: number, options: { maxByteLength: number }) => ArrayBuffer;

/** A zero-filled buffer of `bytes` bytes backed by its own mapping. */
export function mappedBuffer(bytes: number): ArrayBuffer {
  return new Resizable(bytes, { maxByteLength: bytes });
}
