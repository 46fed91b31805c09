import type { App } from "../app";

export interface PageContext {
  app: App;
  root: HTMLElement;
  params: Record<string, string>;
  /** false once the user has moved on (another page or account): drop late results. */
  isCurrent: () => boolean;
}
