/**
 * Headless Chromium for the page tests, driven over the DevTools protocol on a pipe (--remote-debugging-pipe: the
 * transport Puppeteer uses too). No dependency, no WebSocket and no port: messages are JSON separated by NUL bytes on
 * file descriptors 3 (to the browser) and 4 (from it).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';

/** Debian's package; another browser of the Chromium family can be named by CHROMIUM. */
const BROWSER = process.env.CHROMIUM ?? 'chromium';

function runs(command: string): boolean {
  return spawnSync(command, ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * The browser to run, or why there is none, for the tests to give as their reason to skip. Tests install nothing:
 * .ci/run installs Debian's chromium before `npm test`, and README says how to install it by hand.
 */
export function chromium(): { path: string } | { missing: string } {
  if (runs(BROWSER)) return { path: BROWSER };
  if (process.env.CHROMIUM) return { missing: `CHROMIUM=${BROWSER} does not run` };
  return { missing: 'chromium is not installed (Debian: apt-get install chromium; or set CHROMIUM to a Chromium-family browser)' };
}

interface Message {
  id?: number;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { message: string };
  sessionId?: string;
}

export class Browser {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (result: Record<string, unknown>) => void; reject: (error: Error) => void }>();
  private readonly listeners = new Set<(message: Message) => void>();
  private exited = false;

  private constructor(
    private readonly child: ChildProcess,
    private readonly profile: string,
  ) {
    let buffer = '';
    (child.stdio[4] as Readable).on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      for (let end = buffer.indexOf('\0'); end >= 0; end = buffer.indexOf('\0')) {
        const message = JSON.parse(buffer.slice(0, end)) as Message;
        buffer = buffer.slice(end + 1);
        const waiting = message.id === undefined ? undefined : this.pending.get(message.id);
        if (waiting) {
          this.pending.delete(message.id!);
          if (message.error) waiting.reject(new Error(message.error.message));
          else waiting.resolve(message.result ?? {});
        } else {
          for (const listener of this.listeners) listener(message);
        }
      }
    });
    const gone = () => {
      this.exited = true;
      for (const { reject } of this.pending.values()) reject(new Error('chromium exited'));
      this.pending.clear();
    };
    child.on('exit', gone);
    child.on('error', gone);
  }

  static launch(path: string): Browser {
    const profile = mkdtempSync(join(tmpdir(), 'upscale-chromium-'));
    const child = spawn(
      path,
      // --no-sandbox: CI runs as root, where Chromium's sandbox cannot start.
      ['--headless', '--no-sandbox', '--disable-gpu', '--remote-debugging-pipe', `--user-data-dir=${profile}`, '--no-first-run', '--hide-scrollbars', '--force-color-profile=srgb', 'about:blank'],
      { stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe'] },
    );
    return new Browser(child, profile);
  }

  send(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<Record<string, unknown>> {
    const id = ++this.nextId;
    if (this.exited) return Promise.reject(new Error('chromium exited'));
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      (this.child.stdio[3] as Writable).write(`${JSON.stringify({ id, method, params, ...(sessionId && { sessionId }) })}\0`);
    });
  }

  /** The next event named `method` in a session. */
  event(method: string, sessionId: string): Promise<Message> {
    return new Promise((resolve) => {
      const listener = (message: Message) => {
        if (message.method !== method || message.sessionId !== sessionId) return;
        this.listeners.delete(listener);
        resolve(message);
      };
      this.listeners.add(listener);
    });
  }

  /** A new tab of `width` × `height` CSS pixels (device scale 1) in the light scheme, showing `url` once loaded. */
  async open(url: string, width: number, height: number): Promise<Page> {
    const { targetId } = await this.send('Target.createTarget', { url: 'about:blank' });
    const { sessionId } = (await this.send('Target.attachToTarget', { targetId, flatten: true })) as { sessionId: string };
    const page = new Page(this, sessionId);
    await page.send('Page.enable');
    await page.send('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: 1, mobile: false });
    await page.scheme('light');
    const loaded = this.event('Page.loadEventFired', sessionId);
    await page.send('Page.navigate', { url });
    await loaded;
    return page;
  }

  async close(): Promise<void> {
    if (!this.exited) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      await this.send('Browser.close').catch(() => this.child.kill());
      await exited;
    }
    rmSync(this.profile, { recursive: true, force: true });
  }
}

export class Page {
  constructor(
    private readonly browser: Browser,
    private readonly sessionId: string,
  ) {}

  send(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    return this.browser.send(method, params, this.sessionId);
  }

  /** The colour scheme the system asks for, as the page sees it in `prefers-color-scheme`. */
  async scheme(value: 'light' | 'dark'): Promise<void> {
    await this.send('Emulation.setEmulatedMedia', { features: [{ name: 'prefers-color-scheme', value }] });
  }

  /** Evaluates an expression in the page (awaiting a promise), returning its value as JSON. */
  async evaluate<T>(expression: string): Promise<T> {
    const { result, exceptionDetails } = (await this.send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true })) as {
      result: { value: T };
      exceptionDetails?: { exception?: { description?: string }; text: string };
    };
    if (exceptionDetails) throw new Error(exceptionDetails.exception?.description ?? exceptionDetails.text);
    return result.value;
  }

  /** A real mouse event, as the browser's input pipeline delivers one (pointer events, capture and all). */
  async mouse(type: 'mousePressed' | 'mouseMoved' | 'mouseReleased', x: number, y: number, held = type !== 'mouseReleased' && type !== 'mouseMoved'): Promise<void> {
    await this.send('Input.dispatchMouseEvent', { type, x, y, button: type === 'mouseMoved' && !held ? 'none' : 'left', buttons: held ? 1 : 0, clickCount: type === 'mouseMoved' ? 0 : 1 });
  }

  async drag(from: { x: number; y: number }, to: { x: number; y: number }, steps = 5): Promise<void> {
    await this.mouse('mouseMoved', from.x, from.y);
    await this.mouse('mousePressed', from.x, from.y);
    for (let i = 1; i <= steps; i++) await this.mouse('mouseMoved', from.x + ((to.x - from.x) * i) / steps, from.y + ((to.y - from.y) * i) / steps, true);
    await this.mouse('mouseReleased', to.x, to.y);
  }

  /** A key press to the focused element; `key` as KeyboardEvent.key names it. */
  async press(key: string, keyCode: number, text?: string): Promise<void> {
    await this.send('Input.dispatchKeyEvent', { type: text ? 'keyDown' : 'rawKeyDown', key, code: key, windowsVirtualKeyCode: keyCode, ...(text && { text }) });
    await this.send('Input.dispatchKeyEvent', { type: 'keyUp', key, code: key, windowsVirtualKeyCode: keyCode });
  }

  async screenshot(path: string): Promise<void> {
    const { data } = (await this.send('Page.captureScreenshot', { format: 'png' })) as { data: string };
    writeFileSync(path, Buffer.from(data, 'base64'));
  }
}
