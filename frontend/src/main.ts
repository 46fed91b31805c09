// Entry point: the shared App, the header (wallet, network, sign-in), and a hash router that
// renders one page module at a time. A page is re-rendered when the account, the chain or the
// session changes, so nothing on screen belongs to the previous account.
import "./style.css";
import { gatewayBaseUrl } from "./api";
import { App } from "./app";
import { chainName, shortAddress } from "./format";
import { routeOf, type Route } from "./route";
import { button, errorText, h, replace } from "./ui";
import { renderCatalog } from "./pages/catalog";
import { renderAsset } from "./pages/asset";
import { renderLicenses } from "./pages/licenses";
import { renderPayouts } from "./pages/payouts";
import { renderDao } from "./pages/dao";
import { renderCompute } from "./pages/compute";
import { renderChannels } from "./pages/channels";
import { renderCart } from "./pages/cart";
import { renderDaoNew } from "./pages/daonew";
import { renderPublish } from "./pages/publish";
import type { PageContext } from "./pages/page";

const PAGES: Record<Route["name"], (context: PageContext) => void | Promise<void>> = {
  catalog: renderCatalog,
  asset: renderAsset,
  licenses: renderLicenses,
  payouts: renderPayouts,
  dao: renderDao,
  compute: renderCompute,
  channels: renderChannels,
  cart: renderCart,
  "dao-new": renderDaoNew,
  publish: renderPublish,
};

const NAV: [string, string][] = [
  ["#/", "Catalog"],
  ["#/licenses", "My licenses"],
  ["#/payouts", "Payouts"],
  ["#/dao", "DataDAO"],
  ["#/compute", "Compute"],
  ["#/channels", "Model calls"],
  ["#/cart", "Cart"],
  ["#/publish", "Publish"],
];

const app = new App(gatewayBaseUrl(window.location), window.sessionStorage);
(window as unknown as { datadaoApp: App }).datadaoApp = app; // for the e2e suite and debugging

const walletBox = document.getElementById("wallet")!;
const banner = document.getElementById("banner")!;
const pageRoot = document.getElementById("page")!;
const nav = document.getElementById("nav")!;
let walletMessage = "";

function renderNav(route: Route): void {
  replace(
    nav,
    NAV.map(([href, label]) =>
      h("a", { href, class: routeOf(href.slice(1)).name === route.name ? "active" : "" }, label),
    ),
  );
}

function renderWallet(): void {
  const wallet = app.wallet;
  if (!wallet?.account) {
    const options = app.wallets.map((option) =>
      button(`Connect ${option.info.name}`, async () => {
        walletMessage = "";
        try {
          await app.connect(option);
        } catch (error) {
          walletMessage = errorText(error);
          renderWallet();
        }
      }, { testid: "connect", "data-wallet": option.info.rdns }),
    );
    replace(
      walletBox,
      options.length ? options : h("span", { class: "muted", testid: "no-wallet" }, "No wallet found in this browser"),
      walletMessage ? h("p", { class: "error", role: "alert", testid: "wallet-error" }, walletMessage) : null,
    );
    return;
  }
  const session = app.session;
  replace(
    walletBox,
    h("span", { class: "account", testid: "account", title: wallet.account }, shortAddress(wallet.account)),
    h("span", { class: "chain", testid: "chain" }, wallet.chainId === null ? "unknown network" : chainName(wallet.chainId)),
    session
      ? h("span", { class: "signed-in", testid: "signed-in" }, "signed in ", button("Sign out", () => app.signOut()))
      : button("Sign in", async () => {
          walletMessage = "";
          try {
            await app.signIn();
          } catch (error) {
            walletMessage = errorText(error);
            renderWallet();
          }
        }, { testid: "sign-in" }),
    button("Disconnect", () => app.disconnect()),
    walletMessage ? h("p", { class: "error", role: "alert", testid: "wallet-error" }, walletMessage) : null,
  );
}

function renderBanner(): void {
  if (app.wrongNetwork && app.expectedChainId !== null) {
    replace(
      banner,
      h("div", { class: "notice notice-error", testid: "wrong-network" },
        h("p", {}, `Your wallet is on ${chainName(app.wallet!.chainId ?? 0)}; this exchange runs on ${chainName(app.expectedChainId)} (chain ${app.expectedChainId}).`),
        button(`Switch to ${chainName(app.expectedChainId)}`, async () => {
          try {
            await app.switchNetwork();
          } catch (error) {
            walletMessage = errorText(error);
            renderWallet();
          }
        }, { testid: "switch-network" }),
      ),
    );
  } else {
    replace(banner);
  }
}

let renderedKey = "";
let renderSerial = 0;

async function renderPage(force = false): Promise<void> {
  const route = routeOf(window.location.hash.replace(/^#/, "") || "/");
  const key = `${window.location.hash}|${app.account}|${app.wallet?.chainId}|${app.session?.token ?? ""}|${app.deployment ? 1 : 0}`;
  if (!force && key === renderedKey) return;
  renderedKey = key;
  const serial = ++renderSerial;
  renderNav(route);
  pageRoot.dataset.page = route.name;
  pageRoot.replaceChildren();
  const context: PageContext = { app, root: pageRoot, params: route.params, isCurrent: () => serial === renderSerial };
  try {
    await PAGES[route.name](context);
  } catch (error) {
    if (context.isCurrent()) replace(pageRoot, h("p", { class: "error", role: "alert" }, errorText(error)));
  }
}

app.onChange(() => {
  renderWallet();
  renderBanner();
  void renderPage();
});
window.addEventListener("hashchange", () => void renderPage(true));

renderWallet();
void app.init(window).then(() => renderPage(true));
