/**
 * A bounded least-recently-used map whose entries carry their own expiry (ms). Used by the verify
 * cache: keys are whole tokens, an entry never outlives the token's `exp`, errors are never stored.
 */
export class ExpiringLru<V> {
  readonly #max: number;
  readonly #map = new Map<string, { value: V; until: number }>();

  constructor(max: number) {
    this.#max = max;
  }

  get(key: string, now: number): V | undefined {
    const entry = this.#map.get(key);
    if (entry === undefined) return undefined;
    this.#map.delete(key);
    if (now >= entry.until) return undefined;
    this.#map.set(key, entry); // most recently used goes last
    return entry.value;
  }

  set(key: string, value: V, until: number): void {
    if (this.#map.size >= this.#max) {
      const oldest = this.#map.keys().next();
      if (!oldest.done) this.#map.delete(oldest.value);
    }
    this.#map.set(key, { value, until });
  }

  get size(): number {
    return this.#map.size;
  }
}
