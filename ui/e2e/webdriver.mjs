// A small WebDriver client over fetch: just what the end-to-end tests of the till (WebKit,
// through tauri-driver) and of the back office (Chromium, through chromedriver) need.

const KEY = {
  Backspace: "\uE003",
  Control: "\uE009",
  Shift: "\uE008",
  Enter: "\uE007",
  Escape: "\uE00C",
  F1: "\uE031",
  F2: "\uE032",
  F6: "\uE036",
  F9: "\uE039",
  F11: "\uE03B",
  F12: "\uE03C",
};
export { KEY };

export class WebDriver {
  constructor(baseUrl) {
    this.baseUrl = baseUrl.replace(/\/$/, "");
    this.sessionId = null;
  }

  async request(method, path, body) {
    const res = await fetch(this.baseUrl + path, {
      method,
      headers: { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await res.json().catch(() => ({}));
    if (!res.ok) {
      const v = json.value ?? {};
      throw new Error(`WebDriver ${method} ${path}: ${res.status} ${v.error ?? ""} ${v.message ?? JSON.stringify(json)}`);
    }
    return json.value;
  }

  s(path) {
    return `/session/${this.sessionId}${path}`;
  }

  async start(application, args) {
    await this.startWith({ "tauri:options": { application, args } });
  }

  /** Opens a session with these capabilities (e.g. a browser's own options). */
  async startWith(capabilities) {
    const value = await this.request("POST", "/session", { capabilities: { alwaysMatch: capabilities } });
    this.sessionId = value.sessionId;
  }

  /** Opens `url` in the session's window and waits for it to load. */
  navigate(url) {
    return this.request("POST", this.s("/url"), { url });
  }

  /** Resizes the window (the viewport a phone or a desktop shows). */
  setWindowSize(width, height) {
    return this.request("POST", this.s("/window/rect"), { width, height });
  }

  async quit() {
    if (this.sessionId) await this.request("DELETE", this.s("")).catch(() => undefined);
    this.sessionId = null;
  }

  /** Elements matching a CSS selector (their WebDriver ids). */
  async findAll(css) {
    const found = await this.request("POST", this.s("/elements"), { using: "css selector", value: css });
    return found.map((e) => Object.values(e)[0]);
  }

  /** Waits until `css` matches at least `count` elements; returns the first id. */
  async waitFor(css, { timeoutMs = 20000, count = 1, failOn = ".message.error" } = {}) {
    const deadline = Date.now() + timeoutMs;
    let found = [];
    while (Date.now() < deadline) {
      found = await this.findAll(css);
      if (found.length >= count) return found[0];
      const [problem] = failOn ? await this.findAll(failOn) : [];
      if (problem) throw new Error(`waiting for ${css}, the app said: ${await this.text(problem)}`);
      await sleep(100);
    }
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${count} × ${css} (found ${found.length})`);
  }

  /** Waits until the text of the first match of `css` satisfies `predicate`; returns the text. */
  async waitForText(css, predicate, { timeoutMs = 20000 } = {}) {
    const deadline = Date.now() + timeoutMs;
    let last = "";
    while (Date.now() < deadline) {
      const [el] = await this.findAll(css);
      if (el) {
        last = await this.text(el).catch(() => last);
        if (predicate(last)) return last;
      }
      await sleep(150);
    }
    throw new Error(`timed out after ${timeoutMs} ms waiting on the text of ${css}; last seen: "${last}"`);
  }

  text(el) {
    return this.request("GET", this.s(`/element/${el}/text`));
  }

  click(el) {
    return this.request("POST", this.s(`/element/${el}/click`), {});
  }

  clear(el) {
    return this.request("POST", this.s(`/element/${el}/clear`), {});
  }

  type(el, text) {
    return this.request("POST", this.s(`/element/${el}/value`), { text });
  }

  /** Replaces a field's text the way a person does: select all, delete, type. (WebDriver's
   * clear() empties the element behind React's back, so the app kept the old text.) */
  async fill(el, text) {
    await this.click(el);
    await this.chord(KEY.Control, "a");
    await this.keys(KEY.Backspace);
    await this.type(el, text);
  }

  execute(script, args = []) {
    return this.request("POST", this.s("/execute/sync"), { script, args });
  }

  /** Presses keys on whatever has the focus, `gapMs` apart (0: as fast as a scanner). */
  async keys(text, gapMs = 0) {
    const actions = [];
    for (const ch of text) {
      actions.push({ type: "keyDown", value: ch }, { type: "keyUp", value: ch });
      if (gapMs > 0) actions.push({ type: "pause", duration: gapMs });
    }
    await this.request("POST", this.s("/actions"), { actions: [{ type: "key", id: "keyboard", actions }] });
    await this.request("DELETE", this.s("/actions"));
  }

  /** Presses `key` while `modifier` is held down (Shift+F6). */
  async chord(modifier, key) {
    const actions = [
      { type: "keyDown", value: modifier },
      { type: "keyDown", value: key },
      { type: "keyUp", value: key },
      { type: "keyUp", value: modifier },
    ];
    await this.request("POST", this.s("/actions"), { actions: [{ type: "key", id: "keyboard", actions }] });
    await this.request("DELETE", this.s("/actions"));
  }

  /** Runs `script` in the page; it ends by calling its last argument with the result. */
  executeAsync(script, args = []) {
    return this.request("POST", this.s("/execute/async"), { script, args });
  }

  /** The page as a PNG (base64). */
  screenshot() {
    return this.request("GET", this.s("/screenshot"));
  }
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
