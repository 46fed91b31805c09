// A few DOM helpers: the dApp is plain TypeScript, one module per page, no framework.
import { describeError, explainError } from "./errors";
import type { TxUpdate } from "./tx";

type Child = Node | string | number | null | undefined | false;
type Attributes = Record<string, string | number | boolean | null | undefined | EventListener>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      element.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === "class") {
      element.className = String(value);
    } else if (key === "testid") {
      element.dataset.testid = String(value);
    } else if (value === true) {
      element.setAttribute(key, "");
    } else {
      element.setAttribute(key, String(value));
    }
  }
  append(element, children);
  return element;
}

export function append(parent: Node, children: (Child | Child[])[]): void {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === "string" || typeof child === "number" ? document.createTextNode(String(child)) : child);
  }
}

export function replace(parent: Element, ...children: (Child | Child[])[]): void {
  parent.replaceChildren();
  append(parent, children);
}

/** A box for a page that is waiting, empty, or unavailable. */
export function notice(kind: "info" | "error" | "empty" | "unavailable", text: string, hint?: string): HTMLElement {
  return h("div", { class: `notice notice-${kind}`, testid: `notice-${kind}`, role: kind === "error" ? "alert" : "status" },
    h("p", {}, text),
    hint ? h("p", { class: "hint" }, hint) : null,
  );
}

/** The right notice for an error: "not available yet" is calm, the rest is an alert. */
export function errorNotice(error: unknown): HTMLElement {
  const explained = explainError(error);
  const kind = explained.kind === "not-available" || explained.kind === "not-deployed" ? "unavailable" : "error";
  return notice(kind, explained.message, explained.hint);
}

export function errorText(error: unknown): string {
  return describeError(error);
}

/** A line that shows a transaction's phase; pass it to runTransaction's onUpdate. */
export function txLine(): { element: HTMLElement; update: (update: TxUpdate) => void } {
  const element = h("p", { class: "tx", testid: "tx-status", role: "status", "aria-live": "polite" });
  return {
    element,
    update(update) {
      element.dataset.phase = update.phase;
      element.textContent = update.message;
    },
  };
}

export function progressBar(): { element: HTMLElement; set: (done: number, total: number | null, text: string) => void } {
  const bar = h("progress", { max: 1, value: 0, testid: "progress" }) as HTMLProgressElement;
  const label = h("span", { class: "progress-label", testid: "progress-label" });
  const element = h("div", { class: "progress" }, bar, label);
  return {
    element,
    set(done, total, text) {
      if (total) {
        bar.max = total;
        bar.value = done;
      } else {
        bar.removeAttribute("value");
      }
      label.textContent = text;
    },
  };
}

export function field(label: string, input: HTMLElement): HTMLElement {
  return h("label", { class: "field" }, h("span", {}, label), input);
}

export function button(text: string, onClick: () => void | Promise<void>, attributes: Attributes = {}): HTMLButtonElement {
  const element = h("button", { type: "button", ...attributes }, text);
  element.addEventListener("click", async () => {
    element.disabled = true;
    try {
      await onClick();
    } finally {
      element.disabled = false;
    }
  });
  return element;
}
