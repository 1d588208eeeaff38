/**
 * A bounded least-recently-used map whose entries carry their own expiry (ms). Used by the verify
 * cache: keys are whole tokens, an entry never outlives the token's `exp`, errors are never stored.
 */
export class ExpiringLru<V> {
  readonly #max: number;
  readonly #map = new Map<string, { value: V; until: number; at: number }>();
  /** Entries inserted so far; an entry remembers the count when it was last moved to the end. */
  #inserted = 0;

  constructor(max: number) {
    this.#max = max;
  }

  get(key: string, now: number): V | undefined {
    const entry = this.#map.get(key);
    if (entry === undefined) return undefined;
    if (now >= entry.until) {
      this.#map.delete(key);
      return undefined;
    }
    // Moving an entry to the end (delete + set) on every hit costs more than the rest of a hit.
    // Only an entry that half the capacity of newer insertions has passed is moved: a hot entry
    // still never reaches the front, where eviction happens.
    if (this.#inserted - entry.at >= this.#max >> 1) {
      this.#map.delete(key);
      entry.at = this.#inserted;
      this.#map.set(key, entry);
    }
    return entry.value;
  }

  set(key: string, value: V, until: number): void {
    if (this.#map.size >= this.#max && !this.#map.has(key)) {
      const oldest = this.#map.keys().next();
      if (!oldest.done) this.#map.delete(oldest.value);
    }
    this.#map.delete(key);
    this.#map.set(key, { value, until, at: ++this.#inserted });
  }

  get size(): number {
    return this.#map.size;
  }
}
