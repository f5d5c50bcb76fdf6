/** Things to release when the run ends, last acquired first; `close()` runs each once, whatever throws. */
export class CleanUp {
  private readonly steps: (() => unknown)[] = [];

  add<T>(thing: T, release: (t: T) => unknown): T {
    this.steps.push(() => release(thing));
    return thing;
  }

  async close(): Promise<void> {
    let first: unknown;
    for (const step of this.steps.splice(0).reverse()) {
      try {
        await step();
      } catch (err) {
        first ??= err;
      }
    }
    if (first !== undefined) throw first;
  }
}
