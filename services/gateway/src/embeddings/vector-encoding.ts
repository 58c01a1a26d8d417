/** OpenAI's `encoding_format: "base64"`: the little-endian float32 bytes of the vector, base64-encoded. */
export function encodeBase64Vector(vector: Float32Array): string {
  const bytes = Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength);
  if (isLittleEndian) return bytes.toString("base64");
  const copy = Buffer.alloc(vector.length * 4);
  for (let index = 0; index < vector.length; index++) copy.writeFloatLE(vector[index]!, index * 4);
  return copy.toString("base64");
}

export function decodeBase64Vector(text: string): Float32Array {
  const bytes = Buffer.from(text, "base64");
  const vector = new Float32Array(bytes.length >>> 2);
  for (let index = 0; index < vector.length; index++) vector[index] = bytes.readFloatLE(index * 4);
  return vector;
}

const isLittleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
