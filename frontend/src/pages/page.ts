import type { App } from "../app";
import type { ChainContext } from "../contracts";
import { errorNotice } from "../ui";

export interface PageContext {
  app: App;
  root: HTMLElement;
  params: Record<string, string>;
  /** false once the user has moved on (another page or account): drop late results. */
  isCurrent: () => boolean;
}

/** The chain the page works on, or null once an error notice says why there is none. */
export function pageChain(app: App, root: HTMLElement): ChainContext | null {
  try {
    return app.chain();
  } catch (error) {
    root.append(errorNotice(error));
    return null;
  }
}
