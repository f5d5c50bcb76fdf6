/**
 * Text that came from a peer (a hello's host, an env error's message), made safe for the console:
 * control characters (newlines, carriage returns, terminal escape sequences, C1 controls) are
 * written as `\xNN`/`\uNNNN` escapes, and anything past `max` characters is cut with "...". A
 * peer's text can then neither add lines nor rewrite the ones before it.
 */
export function peerText(text: string, max = 200): string {
  const cut = text.length > max ? `${text.slice(0, max)}...` : text;
  return cut.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/**
 * Console lines about one peer, rate-limited: at most `perWindow` lines per `windowMs`, then one
 * line saying that more are counted and not shown, until the window ends.
 */
export class PeerLines {
  private readonly windows = new Map<string, { since: number; shown: number }>();

  constructor(
    private readonly log: (line: string) => void,
    private readonly perWindow = 5,
    private readonly windowMs = 60_000,
  ) {}

  /** Shows `line` about peer `key` (named `who`) unless its window is full. */
  show(key: string, who: string, line: string, now: number): void {
    let w = this.windows.get(key);
    if (!w || now - w.since >= this.windowMs) {
      w = { since: now, shown: 0 };
      this.windows.set(key, w);
    }
    w.shown += 1;
    if (w.shown <= this.perWindow) this.log(line);
    else if (w.shown === this.perWindow + 1) this.log(`${who}: more lines from this worker in the next ${this.windowMs / 1000} s are counted, not shown`);
  }

  /** A peer gone: its window with it. */
  forget(key: string): void {
    this.windows.delete(key);
  }
}
