/**
 * A received value, short, for an error message: the one describer of the project (config
 * values, env results, protocol fields). Strings are quoted (and cut at 40 characters),
 * numbers as they are, small arrays and objects written out, big ones by their size, typed
 * arrays by class and length; nothing it prints can be long, whatever it is given.
 */
export function describeValue(v: unknown): string {
  return render(v, 2) ?? summary(v);
}

const MAX_LENGTH = 40;

/** The value written out, or undefined when that would pass MAX_LENGTH or nest deeper than `depth`. */
function render(v: unknown, depth: number): string | undefined {
  if (typeof v === 'string') return JSON.stringify(v.length > MAX_LENGTH ? `${v.slice(0, MAX_LENGTH)}...` : v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v !== 'object' || ArrayBuffer.isView(v) || depth === 0) return undefined;
  const plain = Array.isArray(v) || [Object.prototype, null].includes(Object.getPrototypeOf(v));
  if (!plain) return undefined;
  const parts: string[] = [];
  let length = 2;
  for (const [k, x] of Object.entries(v)) {
    const r = render(x, depth - 1);
    if (r === undefined) return undefined;
    const part = Array.isArray(v) ? r : `${/^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k)}: ${r}`;
    length += part.length + 2;
    if (length > MAX_LENGTH) return undefined;
    parts.push(part);
  }
  return Array.isArray(v) ? `[${parts.join(', ')}]` : parts.length ? `{ ${parts.join(', ')} }` : '{}';
}

function summary(v: unknown): string {
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${'length' in v ? (v as Uint8Array).length : v.byteLength})`;
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'function') return 'a function';
  if (v !== null && typeof v === 'object') {
    const proto = Object.getPrototypeOf(v);
    if (proto === Object.prototype || proto === null) return `an object of ${Object.keys(v).length} keys`;
    return `a ${(v as object).constructor?.name ?? 'object'}`;
  }
  return typeof v;
}
