/**
 * `recordView(arrayBuffer, byteOffset, length)`: a Buffer over `length` bytes of `arrayBuffer`
 * (no copy), made for every key and value the consumer hands to the app.
 *
 * Why not `data.subarray(start, end)`: Node's `Buffer.prototype.subarray` reads `this.buffer`
 * (a C++ builtin call, JSTypedArray::GetBuffer) and `this.byteOffset` on every call, then
 * constructs a FastBuffer; that was ~30 ns a view, the largest single cost of making a message
 * (callgrind: CreateTypedArray + GetBuffer + the LoadIC around them ~15% of the consumer's
 * instructions in bench/consume-probe). A chunk knows each source buffer's ArrayBuffer and
 * offset once (message-chunk.ts), so the view is one typed-array construction: ~10 ns.
 *
 * The class is what Node's own FastBuffer is — a Uint8Array subclass whose prototype chain
 * goes through Buffer.prototype — so the result is a Buffer in every way an app can tell
 * (`Buffer.isBuffer`, `instanceof Buffer`, every Buffer method, `constructor === Buffer`,
 * `util.inspect`, JSON); its slices (`subarray`, `slice`) are ordinary Buffers.
 */
class RecordView extends Uint8Array {}
Object.setPrototypeOf(RecordView.prototype, Buffer.prototype);
// As FastBuffer does: `view.constructor` is Buffer, not this private class.
Object.defineProperty(RecordView.prototype, 'constructor', { value: Buffer, writable: true, configurable: true, enumerable: false });

/** A Buffer view of `arrayBuffer[byteOffset, byteOffset + length)` (the caller checked the bounds). */
export function recordView(arrayBuffer: ArrayBufferLike, byteOffset: number, length: number): Buffer {
  return new RecordView(arrayBuffer as ArrayBuffer, byteOffset, length) as unknown as Buffer;
}
