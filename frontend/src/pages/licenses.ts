// My licenses: GET /v1/me/licenses with the session token (sign-in required), and the licence
// tokens the connected account holds (pages/licencetokens.ts; no sign-in needed).
import { formatDate } from "../format";
import { button, errorNotice, h, notice, replace } from "../ui";
import { licenceTokensSection } from "./licencetokens";
import type { PageContext } from "./page";

export async function renderLicenses({ app, root, isCurrent }: PageContext): Promise<void> {
  replace(root, h("h1", {}, "My licenses"));
  if (!app.account) {
    root.append(notice("info", "Connect your wallet to see your licenses."));
    return;
  }
  // licence tokens are public on chain: listed without a sign-in
  const tokens = h("div", {});
  void licenceTokensSection(app, isCurrent).then((section) => isCurrent() && tokens.replaceWith(section));
  if (!app.session) {
    root.append(notice("info", "Sign in with your wallet to see your licenses.", "The gateway lists the licenses of the account that signed in."),
      button("Sign in", () => app.signIn().then(() => undefined), { testid: "licenses-sign-in" }), tokens);
    return;
  }
  const list = h("section", { testid: "licenses" }, notice("info", "Loading your licenses…"));
  root.append(list, tokens);
  try {
    const licenses = await app.api.myLicenses();
    if (!isCurrent()) return;
    if (licenses.length === 0) {
      replace(list, notice("empty", "No licenses yet.", "Buy one from an asset's page."));
      return;
    }
    const now = Date.now();
    replace(list, h("table", {},
      h("thead", {}, h("tr", {}, h("th", {}, "asset"), h("th", {}, "scope"), h("th", {}, "how"), h("th", {}, "valid until"), h("th", {}, ""))),
      h("tbody", {}, licenses.map((license) => {
        const expired = license.expires_at !== null && Date.parse(license.expires_at) <= now;
        return h("tr", { testid: "license", "data-asset": license.asset_id, class: expired ? "expired" : "" },
          h("td", {}, h("a", { href: `#/asset/${license.asset_id}` }, `asset #${license.asset_id}`)),
          h("td", {}, license.scope),
          h("td", {}, license.source === "grant" ? "granted by the owner" : "bought"),
          h("td", {}, license.expires_at === null ? "perpetual" : `${formatDate(license.expires_at)}${expired ? " (expired)" : ""}`),
          h("td", {}, license.scope === "download" && !expired ? h("a", { href: `#/asset/${license.asset_id}` }, "download") : ""));
      }))));
  } catch (error) {
    if (isCurrent()) replace(list, errorNotice(error));
  }
}
