const BINARY: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const DECIMAL: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

/** Parses a Kubernetes quantity (`100m`, `1.5`, `128Mi`, `2G`, `1e3`) into its numeric value. */
export function parseQuantity(text: string | undefined): number {
  if (text === undefined || text === '') return 0;
  const m = /^([+-]?\d+(?:\.\d+)?|[+-]?\.\d+)(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E))?$/.exec(
    text.trim(),
  );
  if (!m) throw new RangeError(`invalid quantity "${text}"`);
  const base = Number(m[1]);
  if (m[2]) return base * 10 ** Number(m[2].slice(1));
  const suffix = m[3] ?? '';
  return base * (BINARY[suffix] ?? DECIMAL[suffix] ?? 1);
}

/** CPU quantity in millicores. */
export function milliCpu(text: string | undefined): number {
  return Math.round(parseQuantity(text) * 1000);
}

/** CPU in nanocores as metrics-server writes it (`329087452n`). */
export function formatNanoCores(milli: number): string {
  return `${Math.max(0, Math.round(milli * 1e6))}n`;
}

/** Memory in kibibytes as metrics-server writes it (`2748180Ki`). */
export function formatKi(bytes: number): string {
  return `${Math.max(0, Math.round(bytes / 1024))}Ki`;
}
